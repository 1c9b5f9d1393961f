"""Where every page of the site lives, and the ids feeds give its entries.

These paths are permalinks: a reader's bookmark or a feed entry's link must
keep working after any rebuild, so nothing here may depend on build order or
on anything but a record's own identity.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote, urlsplit

from analysis.siteids import folder_problem

TAG_AUTHORITY = "tag:policywatch,2026:"

def source_dir(source_id: str) -> str:
    """`openai/privacy-policy-eu` → `openai/privacy-policy-eu`: declared ids are kept as folders.

    A recorded id the declarations would refuse (an older database, a hand-edited row: one that could climb
    out of its folder, collide with another id's files or exceed a file name's length) is hashed instead
    (`analysis.siteids`): distinct, and the same at every build."""
    if folder_problem(source_id) is None:
        return source_id
    return "id-" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:16]


def index_page() -> str:
    return "index.html"


def runs_page() -> str:
    return "runs.html"


def search_page() -> str:
    return "search.html"


def all_changes_page() -> str:
    """The latest changes of every kind, announced or not (the index lists the announced ones)."""
    return "changes.html"


def vendor_page(vendor: str) -> str:
    """`OpenAI` → `vendors/openai.html`; a name with anything but letters and digits (`Vendor 3`) also keeps
    a hash of itself, so `A.B` and `A B` never share a page."""
    slug = re.sub(r"[^a-z0-9]+", "-", vendor.lower()).strip("-")
    if slug != vendor.lower() or not slug:
        slug = (slug + "-" if slug else "") + hashlib.sha256(vendor.encode("utf-8")).hexdigest()[:8]
    return f"vendors/{slug}.html"


def data_dir() -> str:
    """Where `report` publishes the latest export of the record."""
    return "data"


def source_page(source_id: str) -> str:
    return f"sources/{source_dir(source_id)}/index.html"


def change_page(change_id: int) -> str:
    return f"changes/{change_id}.html"


def version_page(source_id: str, number: int) -> str:
    return f"versions/{source_dir(source_id)}/{number}.html"


def version_markdown(source_id: str, number: int) -> str:
    """A version's text exactly as stored (Markdown), beside its page."""
    return f"versions/{source_dir(source_id)}/{number}.md"


def version_texts(source_id: str) -> str:
    """Every version's text as one script, so the compare form works from file:// where fetch() is refused.

    One file per source, not per version: creating files is what a build
    spends most on, and the form needs two texts of the same source anyway.
    The leading `_` keeps the name apart from version pages and from any
    declared source id, which cannot start with `_`.
    """
    return f"versions/{source_dir(source_id)}/_texts.js"


def raw_snapshot(sha256: str) -> str:
    # `.txt`: every web server and browser treats it as text/plain, so a
    # snapshot's scripts never run when the site is browsed, and the file's
    # sha256 still equals its name.
    return f"raw/{sha256}.txt"


def coverage_page() -> str:
    return "coverage/index.html"


def article_page(article_id: str) -> str:
    """An article's page, named by its id (the sha256 of its canonical URL: hexadecimal, never a path)."""
    hexadecimal = re.fullmatch(r"[0-9a-f]{64}", article_id)
    safe = article_id if hexadecimal else hashlib.sha256(article_id.encode()).hexdigest()
    return f"coverage/{safe}.html"


def static_file(name: str) -> str:
    return f"static/{name}"


def feed(name: str, fmt: str) -> str:
    """`feed("changes", "atom")` → `feeds/changes.atom`."""
    return f"feeds/{name}.{fmt}"


def source_feed(source_id: str, fmt: str) -> str:
    return f"feeds/sources/{source_dir(source_id)}.{fmt}"


def claims_index() -> str:
    return "claims/index.html"


def claim_page(claim_id: str) -> str:
    """`openai/chat-history-can-be-turned-off` → `claims/openai/chat-history-can-be-turned-off.html`."""
    return f"claims/{source_dir(claim_id)}.html"


def claim_json(claim_id: str) -> str:
    return f"claims/{source_dir(claim_id)}.json"


def claims_feed(fmt: str) -> str:
    return f"feeds/claims.{fmt}"


def claim_feed(claim_id: str, fmt: str) -> str:
    return f"feeds/claims/{source_dir(claim_id)}.{fmt}"


def claim_coverage_feed(claim_id: str, fmt: str) -> str:
    """The press coverage of one claim: `feeds/coverage/<claim id>.atom`."""
    return f"feeds/coverage/{source_dir(claim_id)}.{fmt}"


def relative(from_page: str, to_path: str) -> str:
    """A link from one page to another that works from file:// as well as from any web server."""
    return root_of(from_page) + to_path


def root_of(page: str) -> str:
    """`../` once per folder the page is in (site paths are relative, `/`-separated, without `.` parts)."""
    return "../" * page.count("/")


def change_tag(source_id: str, to_number: int) -> str:
    return f"{TAG_AUTHORITY}change/{source_id}/{to_number}"


def health_tag(source_id: str, kind: str, since: str) -> str:
    return f"{TAG_AUTHORITY}health/{source_id}/{since}/{kind}"


def article_tag(article_id: str) -> str:
    return f"{TAG_AUTHORITY}article/{article_id}"


def claim_event_tag(claim_id: str, status: str, since: str, source_id: str | None, version: int | None) -> str:
    """A status event's id: the same status caused by the same version of the same source is the same entry."""
    return f"{TAG_AUTHORITY}claim/{claim_id}/{status}/{since}/{source_id or '-'}/{version if version is not None else '-'}"


def feed_tag(name: str) -> str:
    return f"{TAG_AUTHORITY}feed/{name}"


def normalise_base_url(base_url: str) -> str:
    """An absolute http(s) or file URL ending in `/`; raises ValueError otherwise."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise ValueError(f"--base-url {base_url!r} must be an absolute http(s) URL such as https://example.org/policywatch/")
    if parts.query or parts.fragment:
        raise ValueError(f"--base-url {base_url!r} must not have a query or fragment")
    return base_url if base_url.endswith("/") else base_url + "/"


def is_web_url(url: str) -> bool:
    """Only http(s) URLs become links; anything else (javascript:, data:) is shown as text."""
    return urlsplit(url).scheme in ("http", "https")


def imported_file_name(url: str) -> str | None:
    """For the `file:` URL an import records when its manifest names no address: the file's name alone.

    Where the importer read it from is a path on their machine; no page, feed or data file publishes it."""
    if urlsplit(url).scheme != "file":
        return None
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or "unnamed"


_FILE_URL = re.compile(r"""file:[^\s"'<>]+""")


def hide_local_paths(text: str | None) -> str | None:
    """Free text from the record (a failure's detail) with each `file:` URL in it replaced by its file's name."""
    if text is None or "file:" not in text:
        return text
    def name(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,;:!?)]}")  # the sentence's punctuation after the URL stays
        return (imported_file_name(url) or url) + match.group(0)[len(url):]

    return _FILE_URL.sub(name, text)


def published_url(url: str | None) -> str | None:
    """A recorded address as the site and its data download publish it: an imported file by its name only."""
    if url is None:
        return None
    name = imported_file_name(url)
    return url if name is None else name
