"""Building the FastAPI application for one workspace: routers, auth, error shapes and limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from assay import __version__
from assay.api.errors import install_error_handlers
from assay.api.fast_intake import FastIntake
from assay.api.limits import KeepLedger, KeepQuota, ReportLimiter
from assay.api.routers import (
    catalog,
    components,
    control_points,
    dashboard,
    disclosure,
    evals,
    evidence,
    incident_work,
    incidents,
    label,
    pages,
    parties,
    report_page,
    responsibility,
    systems,
    verify,
)
from assay.incidents.batch import IntakeQueue
from assay.workspace import Workspace

API_PREFIX = "/api/v1"

DESCRIPTION = """\
The registry, responsibility allocation and evidence of Singapore's Model AI Governance Framework for
Generative AI, over HTTP. Reads are open on the loopback server; every write needs
`Authorization: Bearer <token>` from `assay token create`, and so does keeping a verification
(`/verify?keep=true`, editor role, within a per-client quota). Problems with a request come back as 422 with
`{"detail": [problem, ...]}`, each problem naming the field.
"""


class Health(BaseModel):
    status: str
    version: str
    database: str


def create_app(ws: Workspace, *, open_reads: bool = True, keep_quota: KeepQuota | None = None) -> FastAPI:
    """One app per workspace; `open_reads=False` asks a viewer token for reads as well. `keep_quota`
    bounds what each client may keep through `/verify` (default: from the environment)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ws.db  # noqa: B018 - open the database and apply migrations before the first request
        from assay.evals.run_index import backfill

        backfill(ws)  # runs recorded before the dashboard's index existed
        ws.signing_key  # noqa: B018 - and the key the intake signs with
        await app.state.intake.start()  # the group-commit writer of POST /api/v1/incidents
        import gc

        gc.collect()
        gc.freeze()  # start-up's long-lived objects (routes, schemas, models) out of the collector's walks
        try:
            yield
        finally:
            await app.state.intake.stop()

    app = FastAPI(title="Assay", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.workspace = ws
    app.state.open_reads = open_reads
    app.state.keep_ledger = KeepLedger(keep_quota or KeepQuota.from_env())
    app.state.report_limiter = ReportLimiter.from_env()
    app.state.intake = IntakeQueue(ws)
    install_error_handlers(app)
    # added first, so it runs inside the body limits: the accepted path of POST /api/v1/incidents
    app.add_middleware(FastIntake)
    app.add_middleware(verify.BodyLimits)  # 2 MiB bodies; a larger, bounded cap for verify uploads

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        incidents.router,  # first: the public intake is the hottest route, and no other path overlaps it
        systems.router,
        parties.router,
        components.router,
        control_points.router,
        responsibility.router,
        evidence.router,
        evals.router,
        catalog.router,
        verify.router,
        incident_work.router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(pages.router)
    app.include_router(verify.pages)  # public: no read token even on a closed server
    app.include_router(label.router)  # public too: a label is for anyone to read
    app.include_router(report_page.pages)  # public: anyone reports a problem
    app.include_router(dashboard.public)  # public: the systems, their labels, conformance and runs
    app.include_router(dashboard.internal)  # read_access: RACI, samples, incidents, provenance
    app.include_router(disclosure.pages)  # public: the remediated incidents, redacted, and their feed
    static = resources.files("assay.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/healthz", tags=["health"], summary="Liveness: the app is up and its database is open")
    def healthz() -> Health:
        return Health(status="ok", version=__version__, database=ws.db.backend)

    return app
