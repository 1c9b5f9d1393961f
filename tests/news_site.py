"""A newsroom on 127.0.0.1 for the news crawl tests: the saved EN/DE/FR article pages under their own paths,
a feed pointing at them, and the declarations that read it.

Each page's links to its own outlet are rewritten to the local server; links
to other outlets (a syndicated copy's canonical URL pointing at the wire
original) are left as they are, and are never fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from news_support import NEWS_DATA
from policywatch.localserver import LocalServer, Page

ARTICLES = NEWS_DATA / "articles"


@dataclass(frozen=True)
class Story:
    name: str  # the fixture page
    path: str  # where the local server serves it
    own_host: str  # the outlet's host in the fixture, rewritten to the local server
    title: str  # what the feed says
    summary: str
    link: str | None = None  # the feed's link, when not the page's own path
    headers: tuple[tuple[str, str], ...] = ()


STORIES = (
    Story("en-temporary-chats", "/technology/2025/jun/12/chatgpt-temporary-chats-30-days", "www.eveningledger.example",
          "ChatGPT keeps temporary chats for 30 days, and a court order kept them longer",
          "OpenAI says temporary chats are deleted after 30 days.", link="/go/chats?utm_source=rss"),
    Story("en-temporary-chats.amp", "/technology/2025/jun/12/chatgpt-temporary-chats-30-days/amp",
          "www.eveningledger.example", "ChatGPT temporary chats (AMP)", "OpenAI deletes temporary chats after 30 days.",
          link="/technology/2025/jun/12/chatgpt-temporary-chats-30-days/amp?utm_medium=feed"),
    Story("en-temporary-chats.syndicated", "/tech/chatgpt-temporary-chats-30-days-court-order",
          "news.riversidecourier.example", "Court order kept ChatGPT temporary chats past 30 days",
          "A wire story: OpenAI deletes temporary chats after 30 days."),
    Story("de-fotos", "/datenschutz/chatgpt-fotos-speicherung-4711.html", "www.netzchronik.example",
          "Was ChatGPT mit hochgeladenen Fotos macht", "OpenAI speichert hochgeladene Bilder.",
          link="/datenschutz/chatgpt-fotos-speicherung-4711.html?wt_mc=rss.red.datenschutz"),
    Story("fr-historique", "/pixels/article/2025/06/13/chatgpt-historique-desactive_6612345_4408996.html",
          "www.quotidien-numerique.example", "ChatGPT : ce que devient l'historique désactivé",
          "OpenAI conserve les conversations temporaires 30 jours."),
    Story("en-tdm-reserved", "/2025/07/31/openai-privacy-portal", "www.signaldesk.example",
          "OpenAI's privacy portal lets users ask it to stop training on their content",
          "Users can ask OpenAI to delete their data."),
    Story("de-paywall", "/digital/openai-trainingsdaten-chats", "www.wochenblatt.example",
          "OpenAI und die Trainingsdaten", "Wie OpenAI Chats für das Training nutzt."),
    Story("fr-consent-wall", "/tech/chatgpt-cnil-procedure.html", "www.observateur-web.example",
          "ChatGPT : la CNIL ouvre une procédure", "OpenAI et les données personnelles."),
    Story("en-offtopic", "/local/2025/jun/12/harbour-road-cycle-lanes", "www.eveningledger.example",
          "OpenAI's neighbours: cycle lanes for the harbour road", "Work starts in September."),
)
# The feed also lists an item naming no vendor: it is never fetched.
UNNAMED = ("Council approves a new library", "Doors open in spring.", "/local/library")
PUBLISHED = datetime(2025, 6, 12, 6, 0, tzinfo=timezone.utc)


def page_bytes(name: str, own_host: str, base: str) -> bytes:
    body = (ARTICLES / f"{name}.html").read_bytes()
    return body.replace(f"https://{own_host}".encode(), base.encode())


def feed_bytes(base: str, stories: tuple[Story, ...] = STORIES, extra: tuple[tuple[str, str, str], ...] = (UNNAMED,)
               ) -> bytes:
    items = [(s.title, s.summary, s.link or s.path) for s in stories] + list(extra)
    body = "".join(
        f"<item><title>{escape(t)}</title><description>{escape(d)}</description><link>{escape(base + link)}</link>"
        f"<guid isPermaLink='false'>item-{i}</guid><pubDate>{format_datetime(PUBLISHED.replace(hour=i % 24))}</pubDate>"
        f"</item>" for i, (t, d, link) in enumerate(items))
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Newsroom</title>{body}" \
           f"</channel></rss>".encode()


def serve_newsroom(server: LocalServer) -> None:
    base = server.base_url
    for story in STORIES:
        server.routes[story.path] = Page(page_bytes(story.name, story.own_host, base), headers=dict(story.headers))
    first = STORIES[0]
    server.routes["/go/chats"] = Page(b"", status=301, headers={"Location": base + first.path + "?utm_campaign=rss"})
    server.routes["/feed.rss"] = Page(feed_bytes(base), content_type="application/rss+xml")


def write_news_declarations(path: Path, base: str, sources: list[dict[str, object]] | None = None) -> Path:
    entries = sources or [{"id": "newsroom/all", "kind": "feed", "url": base + "/feed.rss", "language": "en",
                           "outlet": "The Newsroom", "type": "press"}]
    path.write_text(yaml.safe_dump({"news": entries}, sort_keys=False), encoding="utf-8")
    return path
