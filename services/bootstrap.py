"""The composition root: the only place that picks and wires adapters.

From the settings, a `Runtime` resolves once where the event store, the views and the
broker are (a URL, or the data directory's embedded server) and builds what a role runs:
the registry, the artefact store, the API, the projector, the relay and the intake.
`registrum serve` runs them all; `registrum projector|relay|intake` one each.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from psycopg.conninfo import conninfo_to_dict

from schemas.commands import GrantRole
from services.artifacts.port import ArtifactStore
from services.auth.authenticate import Authenticator
from services.registry.application import Registry
from services.settings import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from services.embedded import EmbeddedKafka
    from services.embedded_pg import EmbeddedPostgres
    from services.webhooks.secrets import Cipher

Runner = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

# The first administrator's credential, written at the first start into the data directory
# (mode 0600) for the local CLI to find.
ADMIN_TOKEN_FILE = "admin.token"
AUDIT_KEY_FILE = "audit-signing.key"
WEBHOOK_KEY_FILE = "webhook-secrets.key"
ADMIN_SUBJECT = "admin"

_log = logging.getLogger("registrum")


class NotConfigured(RuntimeError):
    """A role needs a service that is neither configured nor embedded here, or a database
    whose schema is not the one this Registrum needs (the message says what to run)."""


P = ParamSpec("P")
T = TypeVar("T")


def _on_current_schema(
    build: Callable[Concatenate[Runtime, P], T],
) -> Callable[Concatenate[Runtime, P], T]:
    """Builds a component only once the databases' schema is the one this code needs."""

    @functools.wraps(build)
    def built(runtime: Runtime, /, *args: P.args, **kwargs: P.kwargs) -> T:
        runtime.require_schema()
        return build(runtime, *args, **kwargs)

    return built


def eventstore_env(database_url: str, pool_size: int = 10) -> dict[str, str]:
    """eventsourcing's POSTGRES_* settings from one PostgreSQL URL."""
    parts = conninfo_to_dict(database_url)
    missing = [key for key in ("dbname", "host") if not parts.get(key)]
    if missing:
        raise ValueError(f"REGISTRUM_DATABASE_URL lacks {', '.join(missing)}: {database_url!r}")
    return {
        "POSTGRES_DBNAME": str(parts["dbname"]),
        "POSTGRES_HOST": str(parts["host"]),
        "POSTGRES_PORT": str(parts.get("port") or "5432"),
        "POSTGRES_USER": str(parts.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: with several writers, followers lose events.
    }


def build_registry(
    settings: Settings, database_url: str, artifacts: ArtifactStore | None = None
) -> Registry:
    env = eventstore_env(database_url, settings.db_pool_size)
    return Registry(env, required_approvals=settings.required_approvals, artifacts=artifacts)


def build_artifact_store(settings: Settings, database_url: str | None = None) -> ArtifactStore:
    """S3 when REGISTRUM_S3_ENDPOINT is set, else a folder under the data directory. With
    database_url, the folder must be the one that registry uses (NotConfigured if not:
    services/artifacts/identity.py), or becomes it when the registry has none yet."""
    if settings.s3_endpoint:
        from minio import Minio

        from services.artifacts.s3 import S3Store

        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            secure=settings.s3_secure,
        )
        return S3Store(client, settings.s3_bucket, create_bucket=settings.s3_create_bucket)
    from services.artifacts.filesystem import FilesystemStore
    from services.artifacts.identity import FolderNotShared, claim_folder

    store = FilesystemStore(Path(settings.data_dir).resolve() / "artifacts")
    if database_url is not None:
        try:
            claim_folder(store.root, database_url)
        except FolderNotShared as exc:
            raise NotConfigured(str(exc)) from None
    return store


class Runtime:
    """What one process runs on. With start_embedded (`registrum serve`), a missing
    database or broker URL starts the embedded server in the data directory, stopped by
    close(); otherwise a role attaches to the servers a running `serve` started there.
    Before it builds a component, the databases' schema must be current: `serve` (migrate,
    by default with start_embedded) brings it there; every other role refuses to start."""

    def __init__(
        self, settings: Settings, *, start_embedded: bool = False, migrate: bool | None = None
    ) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir).resolve()
        self.start_embedded = start_embedded
        self.migrate = start_embedded if migrate is None else migrate
        self._schema_current = False
        self.embedded_postgres: EmbeddedPostgres | None = None
        self.embedded_kafka: EmbeddedKafka | None = None
        self._events_url: str | None = None
        self._bootstrap: str | None = None
        self._registry: Registry | None = None
        self._artifacts: ArtifactStore | None = None

    # -- where things are, resolved once -----------------------------------------------

    @property
    def events_url(self) -> str:
        if self._events_url is None:
            self._events_url = self.settings.database_url or self._embedded_database()
        return self._events_url

    @property
    def read_url(self) -> str:
        return self.settings.read_database_url or self.events_url

    @property
    def kafka_bootstrap(self) -> str | None:
        """None when this registry runs without Kafka (REGISTRUM_KAFKA=false)."""
        if not self.settings.kafka:
            return None
        if self._bootstrap is None:
            self._bootstrap = self.settings.kafka_bootstrap or self._embedded_broker()
        return self._bootstrap

    def _embedded_database(self) -> str:
        from services.embedded import EmbeddedError
        from services.embedded_pg import EmbeddedPostgres

        embedded = EmbeddedPostgres(self.data_dir / "postgres")
        if self.start_embedded:
            self.embedded_postgres = embedded
            return embedded.start()
        try:
            url = embedded.attach()
        except EmbeddedError as exc:
            raise NotConfigured(
                f"{exc}; run this as the user that runs `registrum serve` on this data "
                "directory, or set REGISTRUM_DATABASE_URL"
            ) from None
        if url is None:
            raise NotConfigured(
                "set REGISTRUM_DATABASE_URL, or start `registrum serve` on this data "
                "directory first"
            )
        return url

    def _embedded_broker(self) -> str:
        if not self.start_embedded:
            # Where `registrum serve` on this machine puts its embedded broker.
            return f"127.0.0.1:{self.settings.embedded_kafka_port}"
        from services.embedded import EmbeddedKafka

        self.embedded_kafka = EmbeddedKafka(
            port=self.settings.embedded_kafka_port, data_dir=self.data_dir
        )
        return self.embedded_kafka.start()

    # -- the schema ----------------------------------------------------------------------

    def require_schema(self) -> None:
        """Migrates the databases (serve) or checks that they are current (every other role),
        once; NotConfigured says what to run when they are not."""
        if self._schema_current:
            return
        from services.schema.migrator import migrate
        from services.schema.status import SchemaMismatch, require_current

        try:
            if self.migrate:
                for done in migrate(self.events_url, self.read_url):
                    _log.info(
                        "schema: applied version %s to %s (%s)",
                        done.migration.version,
                        done.target.label,
                        done.migration.description,
                    )
            else:
                require_current(self.events_url, self.read_url)
        except SchemaMismatch as exc:
            raise NotConfigured(str(exc)) from None
        self._schema_current = True

    # -- components --------------------------------------------------------------------

    @property
    @_on_current_schema
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            self._artifacts = build_artifact_store(self.settings, self.events_url)
        return self._artifacts

    @property
    @_on_current_schema
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = build_registry(self.settings, self.events_url, self.artifacts)
        return self._registry

    @_on_current_schema
    def projector(self) -> Runner:
        from services.catalogue.projector import Projector

        return Projector(
            self.read_url, self.events_url, lease_seconds=self.settings.lease_seconds
        ).run

    def relay(self) -> Runner:
        from services.bus.security import server_security
        from services.relay.runtime import run_relay

        security = server_security(self.settings)  # checked now, at start-up
        bootstrap = self._require_kafka()
        self.require_schema()  # after the settings, which need no database to refuse
        return functools.partial(
            run_relay,
            bootstrap,
            self.read_url,
            self.events_url,
            self.settings.store_id,
            security=security,
            lease_seconds=self.settings.lease_seconds,
        )

    @_on_current_schema
    def authenticator(self) -> Authenticator:
        """A new Authenticator (its own connections: one per event loop that uses it):
        API tokens from the event store's database, and OIDC JWTs when an issuer is set."""
        from services.auth.token_cache import CachedTokenStore
        from services.auth.token_store import PostgresTokenStore

        oidc = None
        if self.settings.oidc_issuer:
            from services.auth.oidc import OidcConfig, OidcVerifier

            config = OidcConfig.from_settings(self.settings)
            if config is not None:
                oidc = OidcVerifier(config)
        return Authenticator(CachedTokenStore(PostgresTokenStore(self.events_url)), oidc)

    def intake(self) -> Runner:  # the registry it builds checks the schema
        from services.bus.security import server_security
        from services.intake.runtime import run_intake

        security = server_security(self.settings)  # checked now, at start-up
        bootstrap = self._require_kafka()
        return functools.partial(
            run_intake, bootstrap, self.registry, self.authenticator(), security=security
        )

    def signing_key_file(self) -> Path:
        return self.settings.audit_key_file or self.data_dir / AUDIT_KEY_FILE

    def signer(self, make_key: bool = True) -> Runner:  # its registry checks the schema
        """The checkpoint signer, with the registry's key (made on first use, 0600, unless
        make_key is False: signers on several machines must share one key, so the role
        alone never makes its own), while it holds the lease `signer`."""
        from services.audit.signing import load_or_create
        from services.checkpoints.signer import Cadence, Signer
        from services.eventlog.lease import run_leased

        path = self.signing_key_file()
        if not make_key and not path.exists():
            raise NotConfigured(
                f"the checkpoint signer needs the registry's signing key at {path}"
                " (REGISTRUM_AUDIT_KEY_FILE): make one with `registrum audit keygen --out"
                " PATH` and give every signer that same file"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        cadence = Cadence(
            events=self.settings.audit_checkpoint_events,
            seconds=self.settings.audit_checkpoint_seconds,
        )
        signer = Signer(self.registry, self.events_url, load_or_create(path), cadence)
        return functools.partial(
            run_leased, self.read_url, "signer", self.settings.lease_seconds, signer.run
        )

    def webhook_key_file(self) -> Path:
        return self.settings.webhook_key_file or self.data_dir / WEBHOOK_KEY_FILE

    def webhook_cipher(self, make_key: bool = False) -> Cipher | None:
        """What seals webhook secrets: the key file's (made, 0600, when make_key and there is
        none: `serve` makes it on its first start); None without a key file."""
        from services.webhooks import secrets

        path = self.webhook_key_file()
        return secrets.load_or_create(path) if make_key else secrets.load(path)

    def webhooks(self, make_key: bool = False) -> Runner:
        """The webhooks follower (lease `webhooks`), with the registry's webhook key, made
        on first use only when make_key (`serve`'s followers, which share serve's data
        directory): roles on several machines must share one key file, so the role alone
        never makes its own."""
        from services.webhooks.follower import Delivery, WebhookFollower, run_webhooks

        cipher = self.webhook_cipher(make_key=make_key)
        if cipher is None:
            raise NotConfigured(
                f"webhook delivery needs the key that encrypts webhook secrets at "
                f"{self.webhook_key_file()} (REGISTRUM_WEBHOOK_KEY_FILE): the one the API "
                "uses; `registrum serve` makes one on its first start"
            )
        settings = self.settings
        if settings.webhook_timeout_seconds > settings.lease_seconds / 2:
            # A step waits for a receiver; one that outlasts the lease would lose it.
            raise NotConfigured(
                "REGISTRUM_WEBHOOK_TIMEOUT_SECONDS must be at most half of "
                f"REGISTRUM_LEASE_SECONDS ({settings.lease_seconds:g})"
            )
        self.require_schema()
        delivery = Delivery(
            timeout_seconds=settings.webhook_timeout_seconds,
            longest_retry_seconds=settings.webhook_retry_max_seconds,
            give_up_after=timedelta(hours=settings.webhook_give_up_hours),
            allow_private_urls=settings.webhook_allow_private_urls,
        )
        follower = WebhookFollower(
            cipher,
            self.read_url,
            self.events_url,
            store_id=settings.store_id,
            delivery=delivery,
            lease_seconds=settings.lease_seconds,
        )
        return functools.partial(run_webhooks, follower)

    def followers(self) -> list[Runner]:
        """What `serve` runs beside the API: the projector, the checkpoint signer, the
        webhooks, and with Kafka the relay and the intake (each unless turned off)."""
        settings = self.settings
        runners = [self.projector()] if settings.projector else []
        if settings.audit_checkpoints:
            runners.append(self.signer())
        if settings.webhooks:
            runners.append(self.webhooks(make_key=True))
        if self.kafka_bootstrap is not None:
            runners += [self.relay()] if settings.relay else []
            runners += [self.intake()] if settings.intake else []
        return runners

    def api(
        self, background: list[Runner] | None = None, followers: Callable[[], str] | None = None
    ) -> ASGIApp:
        from services.api.app import create_app
        from services.web.console import console
        from services.web.oidc_client import LoginConfig

        try:
            login = LoginConfig.from_settings(self.settings)
        except ValueError as exc:
            raise NotConfigured(str(exc)) from None
        return create_app(
            self.registry,
            self.read_url,
            authenticator=self.authenticator(),
            artifacts=self.artifacts,
            background=background or [],
            max_body_bytes=self.settings.max_body_bytes,
            max_artifact_bytes=self.settings.max_artifact_bytes,
            artifact_gc_grace_hours=self.settings.artifact_gc_grace_hours,
            events_dsn=self.events_url,
            followers=followers,
            expected_leases=self.expected_leases(),
            max_lag_seconds=self.settings.health_max_lag_seconds,
            access_log=self.settings.access_log,
            webhook_cipher=self.webhook_cipher(make_key=self.start_embedded),
            webhook_allow_private_urls=self.settings.webhook_allow_private_urls,
            webhook_timeout_seconds=self.settings.webhook_timeout_seconds,
            pages=console(login, public_url=self.settings.public_url)
            if self.settings.console
            else None,
        )

    def expected_leases(self) -> tuple[str, ...]:
        """The followers this registry needs somewhere: the projector, and the Kafka relay
        when Kafka is on (in this process's `serve`, or as roles elsewhere)."""
        return ("projector", "relay:kafka") if self.settings.kafka else ("projector",)

    def first_administrator(self, path: Path | None = None) -> Path | None:
        """On a registry where nobody holds any role yet: a token for the subject `admin`,
        owner of the registry, written (0600) to path, by default in the data directory
        for the local CLI. Returns the file's path when it made one."""
        from services.auth.token_store import keep_token
        from services.auth.tokens import issue
        from services.private import write_private
        from services.registry.application import SYSTEM

        if self.registry.has_grants():
            return None
        issued = issue(
            ADMIN_SUBJECT,
            display_name="Administrator",
            kind="user",
            lifetime=timedelta(days=365),
            created_by=SYSTEM.subject,
            description="created at the first start",
        )
        asyncio.run(keep_token(self.events_url, issued.record))
        path = path or self.data_dir / ADMIN_TOKEN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, f"{issued.secret}\n")
        self.registry.handle(
            GrantRole(
                principal=f"user:{ADMIN_SUBJECT}",
                role="owner",
                scope="registry",
                command_id="registrum:first-administrator",
                reason="the first administrator, created at the first start",
            ),
            SYSTEM,
        )
        return path

    def _require_kafka(self) -> str:
        bootstrap = self.kafka_bootstrap
        if bootstrap is None:
            raise NotConfigured("Kafka is turned off (REGISTRUM_KAFKA=false)")
        return bootstrap

    # -- the end -----------------------------------------------------------------------

    def close(self) -> None:
        """Closes the registry and stops what this runtime started, newest first."""
        if self._registry is not None:
            self._registry.close()
        if self.embedded_kafka is not None:
            self.embedded_kafka.stop()
        if self.embedded_postgres is not None:
            self.embedded_postgres.stop()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
