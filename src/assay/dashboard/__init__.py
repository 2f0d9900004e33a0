"""The web dashboard's queries: what each page of `assay serve`'s `/dashboard` shows, as pydantic views.

The pages themselves live in `assay.api.routers.dashboard` and `assay/web/templates/dashboard_*.html`.
"""
