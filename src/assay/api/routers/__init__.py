"""One router per domain; each only translates HTTP to a domain call and back."""
