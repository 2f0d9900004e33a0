"""Templates and static files for the dashboard and the public pages."""
