"""The fixed vocabularies of the record, each in one place.

They are ``StrEnum``s: a member is equal to its string value, so the rows
already stored, the JSON output and the templates keep the plain words.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What one fetch of a source came to."""

    FIRST = "first"  # the source's first version
    UNCHANGED = "unchanged"  # the text was the current version's: only confirmed
    CHANGED = "changed"  # a new version
    FAILED = "failed"  # no version: see the failure kind
    # A text that replaces almost all of the current one, held until a later fetch confirms it; it then becomes
    # `changed` (with its version), or `dropped` when a later fetch shows the capture was a glitch.
    PENDING = "pending"
    DROPPED = "dropped"


class FailureKind(StrEnum):
    """Why a fetch did not become a version; ``description`` is the sentence the README and the report show."""

    description: str

    def __new__(cls, value: str, description: str) -> "FailureKind":
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    HTTP_ERROR = ("http_error", "the server answered 4xx/5xx (after retries for 408/429/5xx, honouring `Retry-After`)")
    BOT_CHALLENGE = ("bot_challenge", "a Cloudflare (\"Just a moment…\", \"Attention Required\"), Akamai, DataDome, "
                     "PerimeterX, hCaptcha/reCAPTCHA or \"enable JavaScript and cookies\" page, whatever its status")
    LOGIN_WALL = ("login_wall", "the page redirected to a sign-in page")
    NOT_HTML = ("not_html", "the response is not HTML (a PDF, JSON, …)")
    EMPTY = ("empty", "an empty body, or no text after extraction")
    SELECTOR_MISS = ("selector_miss", "the declared `select` matched nothing")
    TOO_SHORT = ("too_short", "the text shrank below half of the current version (`too_short_fraction`) without "
                 "saying the page moved; the same shorter text seen in `failing_after_runs` fetches in a row is "
                 "accepted as the page's new text unless it is under a fifth of it (a header-only shell), and the "
                 "episode ends at the first text that is plausible against the version before it; "
                 "`policywatch review` accepts a refused text by hand")
    TRUNCATED = ("truncated", "the response was cut short: an incomplete gzip, deflate, Brotli or zstd stream, fewer "
                 "bytes than its `Content-Length`, a chunked stream that stopped early, a `206 Partial Content`, or "
                 "an imported HTML file that ends inside the document where the source's earlier pages did not")
    OVERSIZE = ("oversize", "larger than `download_maxsize` (20 MB), decompression bombs and endless streams "
                "included; imported files too")
    DECODE_ERROR = ("decode_error", "bytes that do not decode in the page's charset, or markup nested beyond the "
                    "parser's limit")
    TIMEOUT = ("timeout", "no answer in time")
    CONNECTION = ("connection", "refused or reset connections, and host names that do not resolve (both retried "
                                "once only; names under `.invalid` fail at once, without a query: RFC 6761)")
    REDIRECT_LOOP = ("redirect_loop", "redirects in a loop or more than 10 times")
    PRIVATE_ADDRESS = ("private_address", "the URL or a redirect points into a private, loopback or link-local "
                       "network, checked on the address actually connected to (refused unless "
                       "`allow_private_addresses` is set)")
    FORBIDDEN_URL = ("forbidden_url", "a declared URL, or a redirect, that is not http(s), such as `file:`, `data:` "
                     "or `ftp:`")
    ROBOTS = ("robots", "robots.txt forbids the page")
    INVALID_SELECTOR = ("invalid_selector", "a declared selector cannot be applied to the page")
    NOT_FETCHED = ("not_fetched", "the crawl ended before the source was fetched (it was stopped, or "
                                  "`night_time_limit` ran out)")
    ERROR = ("error", "an unexpected error while recording that one source; the others carry on")
    UNSUPPORTED_FETCH = ("unsupported_fetch", "`fetch: browser` without the browser extra installed")
    PAYWALL = ("paywall", "a news article behind a paywall (schema.org `isAccessibleForFree: false`, a locked content "
               "tier, a subscribers-only teaser); never circumvented: the article keeps what its feed said")
    CONSENT_WALL = ("consent_wall", "a news article hidden behind a consent manager or a consent-or-pay wall; never "
                    "circumvented")
    NOT_A_FEED = ("not_a_feed", "a news feed, sitemap or GDELT answer that cannot be read as one")


class RunKind(StrEnum):
    CRAWL = "crawl"  # `crawl`, `run` and `scrapy crawl policies`
    IMPORT = "import"  # `import --manifest`
    REEXTRACT = "reextract"  # versions re-derived from stored snapshots after a rule change
    REANALYSE = "reanalyse"  # stored changes analysed again after a rule change
    NEWS = "news"  # `news`, `run` and `scrapy crawl news`: feeds read, articles fetched and re-fetched

    @property
    def looks_at_sources(self) -> bool:
        """Whether the run fetched or read pages (and so says something about a source's health and last
        check), rather than working over what was already stored."""
        return self not in (RunKind.REEXTRACT, RunKind.REANALYSE)


class RunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # every source fetched
    PARTIAL = "partial"  # some sources failed
    FAILED = "failed"  # every source failed
    ABORTED = "aborted"  # the process went away before finishing


class JobStatus(StrEnum):
    """Where one domain's job of a distributed night stands."""

    QUEUED = "queued"  # waiting for a worker serving its queue
    RUNNING = "running"  # a worker holds it (a worker that stops answering loses it to another)
    DONE = "done"  # every source of it has its outcome
    FAILED = "failed"  # it could not be done (its sources are recorded as failed, with the reason)
    EXPIRED = "expired"  # the night's deadline passed first: what was left is `not_fetched`



class ArticleStatus(StrEnum):
    """Where a news article stands after its latest fetch."""

    READABLE = "readable"  # its text (or, under a TDM reservation, its quoted sentences) was read
    PAYWALL = "paywall"  # only what the feed said is known: the page is behind a paywall
    CONSENT_WALL = "consent_wall"  # … behind a consent wall
    UNAVAILABLE = "unavailable"  # the latest fetch failed otherwise; earlier versions stay


class ArticleOutcome(StrEnum):
    """What one fetch of an article page came to."""

    FIRST = "first"  # the article's first version
    UNCHANGED = "unchanged"  # the same text as its current version: only confirmed
    CHANGED = "changed"  # a new edition
    FAILED = "failed"  # no version: see the failure kind (paywall, consent_wall, http_error, …)
    OFF_TOPIC = "off_topic"  # read, and not about a tracked vendor's data practices: nothing of it is kept


class FetchReason(StrEnum):
    """Why an article page was fetched."""

    DISCOVERED = "discovered"  # a feed, sitemap or GDELT query pointed at it
    REFETCH = "refetch"  # the re-fetch schedule (+1, +7, +30 days) said so


class DiscoveryDecision(StrEnum):
    """What became of an item a feed pointed at."""

    ARTICLE = "article"  # it is (or is an alias of) a recorded article
    OFF_TOPIC = "off_topic"  # fetched and read: not about a tracked vendor's data practices; not fetched again
    FAILED = "failed"  # its fetch failed before the article could be identified; tried again next night
    ABANDONED = "abandoned"  # failed on too many nights: not tried again


class HealthState(StrEnum):
    """Where a source stands after its latest fetches (storage.health.current_health)."""

    OK = "ok"
    RETRYING = "retrying"  # the last fetch failed, fewer than `failing_after_runs` in a row
    FAILING = "failing"  # `failing_after_runs` failed fetches in a row or more
    UNCHECKED = "unchecked"  # never fetched
    IMPORTED = "imported"  # known from imported files only: no crawl has checked it yet


class HealthEventKind(StrEnum):
    """What the health feed announces, once per failure episode."""

    FAILING = "failing"
    RECOVERED = "recovered"


class TrackingKind(StrEnum):
    """A change in what is tracked of a source, as opposed to what the vendor wrote (``tracking_changes``)."""

    DECLARATION_CHANGED = "declaration_changed"  # URLs, selectors or language: `version` was the first under it
    UNDECLARED = "undeclared"  # the source left the declarations
    REDECLARED = "redeclared"  # and came back


class RevisionReason(StrEnum):
    """Why a claim's whole history was evaluated again (``claim_revisions``)."""

    DECLARED = "declared"  # the claim is new to the record
    DECLARATION_CHANGED = "declaration_changed"  # its matchers, scope or require_all changed
    ENGINE_CHANGED = "engine_changed"  # the matching code or the flagger's rules changed
    REQUESTED = "requested"  # `policywatch claims evaluate --full`
    # A source in its scope gained versions older than one the claim was already evaluated on (a document's
    # earlier history imported after another's later one, a held capture accepted): evaluated in arrival
    # order, its events would follow later ones.
    EARLIER_HISTORY = "earlier_history"


class EvaluationKind(StrEnum):
    """What a claims evaluation step did (``claim_evaluations``)."""

    INCREMENTAL = "incremental"  # the outcomes recorded since the last step
    HISTORY = "history"  # and some claims' whole histories, after their declarations changed


# The runs whose outcomes say something about a source's health and last check.
CHECKING_RUN_KINDS: tuple[RunKind, ...] = tuple(kind for kind in RunKind if kind.looks_at_sources)


class NotificationKind(StrEnum):
    """What a notification announces (reports.notify.events holds where each kind's events come from)."""

    CHANGE = "change"  # an announced change of a source's wording
    HEALTH = "health"  # a source started failing, or recovered
    CLAIM = "claim"  # a claim's status changed because a vendor changed its wording


class DeliveryStatus(StrEnum):
    """Where one notification to one target stands."""

    SENT = "sent"
    FAILED = "failed"  # not delivered: tried again on the next pass
    ABANDONED = "abandoned"  # not delivered after the last attempt allowed: never tried again


class LedgerKind(StrEnum):
    """What a ledger entry records (storage.ledger): each kind is chained per subject."""

    VERSION = "version"  # a version of a tracked source; the subject is the source id
    ARTICLE = "article"  # a version of a news article's text; the subject is the article id
