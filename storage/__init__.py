"""The record. Every table module is imported here, so that ``storage.models.Base.metadata`` is complete
(for Alembic and the schema test) whichever module a caller imports first."""

from storage import claims_models as _claims_models  # noqa: F401
