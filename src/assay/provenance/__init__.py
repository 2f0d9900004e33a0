"""Content provenance (framework dimension 7): text and image watermarks, C2PA signing, the
provenance ledger and verification for the public.

Each concern lives in its own module beside this one (`text_watermark`, `keys`, image and C2PA
modules, the ledger, verification); this file imports none of them so that `import assay.provenance`
stays cheap and no module pulls in another's heavy dependencies.
"""
