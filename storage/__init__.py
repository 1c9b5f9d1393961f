"""The record: every table is declared on ``storage.models.Base``; importing the package registers them all,
so Alembic and the schema test see the whole schema whichever module they import first."""

from storage import news_models as news_models  # noqa: F401  (registers the news tables)
from storage import claims_models as claims_models  # noqa: F401  (registers the claims tables)
