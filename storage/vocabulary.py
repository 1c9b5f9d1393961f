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
                 "accepted as the page's new text")
    OVERSIZE = ("oversize", "larger than `download_maxsize` (20 MB), decompression bombs included")
    DECODE_ERROR = ("decode_error", "bytes that do not decode in the page's charset, or markup nested beyond the "
                    "parser's limit")
    TIMEOUT = ("timeout", "no answer in time")
    CONNECTION = ("connection", "refused, reset or cut-short responses")
    REDIRECT_LOOP = ("redirect_loop", "redirects in a loop or more than 10 times")
    PRIVATE_ADDRESS = ("private_address", "the URL or a redirect points into a private, loopback or link-local "
                       "network (refused unless `allow_private_addresses` is set)")
    FORBIDDEN_URL = ("forbidden_url", "a declared URL that is not http(s), such as `file://`")
    ROBOTS = ("robots", "robots.txt forbids the page")
    INVALID_SELECTOR = ("invalid_selector", "a declared selector cannot be applied to the page")
    NOT_FETCHED = ("not_fetched", "the crawl ended before the source was fetched (e.g. it was stopped)")
    ERROR = ("error", "an unexpected error while recording that one source; the others carry on")
    UNSUPPORTED_FETCH = ("unsupported_fetch", "`fetch: browser` without the browser extra installed")


class RunKind(StrEnum):
    CRAWL = "crawl"  # `crawl`, `run` and `scrapy crawl policies`
    IMPORT = "import"  # `import --manifest`
    REEXTRACT = "reextract"  # versions re-derived from stored snapshots after a rule change
    REANALYSE = "reanalyse"  # stored changes analysed again after a rule change


class RunStatus(StrEnum):
    RUNNING = "running"
    OK = "ok"  # every source fetched
    PARTIAL = "partial"  # some sources failed
    FAILED = "failed"  # every source failed
    ABORTED = "aborted"  # the process went away before finishing



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


class EvaluationKind(StrEnum):
    """What a claims evaluation step did (``claim_evaluations``)."""

    INCREMENTAL = "incremental"  # the outcomes recorded since the last step
    HISTORY = "history"  # and some claims' whole histories, after their declarations changed
