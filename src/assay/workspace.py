"""The workspace: the `.assay/` folder beside a manifest that holds the database, blobs and keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from assay.store.blobs import BlobStore

if TYPE_CHECKING:
    from assay.assurance.chain import ChainTx

ENV_HOME = "ASSAY_HOME"


class Workspace:
    """Everything Assay keeps for one project, found from the manifest's folder."""

    def __init__(self, home: Path, database_url: str | None = None) -> None:
        self.home = home
        self._database_url = database_url

    @classmethod
    def for_manifest(cls, manifest_path: Path, database_url: str | None = None) -> Workspace:
        folder = manifest_path.parent if manifest_path.suffix in (".yaml", ".yml") else manifest_path
        return cls.at(folder, database_url)

    @classmethod
    def at(cls, folder: Path | None = None, database_url: str | None = None) -> Workspace:
        """`ASSAY_HOME` names the `.assay` folder itself; otherwise it sits inside `folder` (or cwd)."""
        env = os.environ.get(ENV_HOME)
        if env:
            return cls(Path(env).resolve(), database_url)
        return cls((folder or Path.cwd()).resolve() / ".assay", database_url)

    @property
    def database_url(self) -> str:
        from assay.store.db import resolve_url

        return resolve_url(self.home, self._database_url)

    @cached_property
    def db(self):  # type: ignore[no-untyped-def]
        from assay.store.db import Database

        return Database(self.database_url)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.home / "blobs")

    @cached_property
    def signing_key(self):  # type: ignore[no-untyped-def]
        from assay.assurance.keys import SigningKey

        return SigningKey.load_or_create(self.home / "keys")

    @contextmanager
    def chain_transaction(self, *, write: bool = True) -> Iterator[ChainTx]:
        """One transaction on the evidence chain tables; `write` holds the chain's lock from the start.

        A SQLite file whose schema is current is written with the standard library's `sqlite3` (same rows,
        same lock), so commands that only append evidence do not import SQLAlchemy; anything else
        (PostgreSQL, a new or older database) goes through `self.db`."""
        from assay.store.chain_sqlite import chain_transaction, sqlite_file

        path = sqlite_file(self.database_url)
        fast = chain_transaction(path, write=write) if path is not None else None
        if fast is not None:
            with fast as tx:
                yield tx
            return
        from assay.store.evidence_index import SessionChainTx

        with self.db.write_session() if write else self.db.session() as s:
            yield SessionChainTx(s)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
