"""The same stories built by Hugo (Debian's `hugo`), for the rebuild figure's comparison.

Each story becomes a content file of Hugo's (`content/<section>/<slug>.html`: its HTML body, its
title, date, summary, tags and authors as Wirepress tagged them), under a small theme of the
same page kinds: article pages with five `.Related` links by tags and date, home, section,
tag and author listings paginated by 20, RSS for home, sections, tags and authors (Hugo's own
template, 20 items), the sitemap (Hugo's own). Built twice, with and without `.Related` (Hugo's
related step grows with the square of the archive), each into an empty folder, timed from the
command to its exit; pages are the files it wrote.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.models import ListingEntry

CONFIG = """\
baseURL = "https://news.example.com/"
title = "Wirepress, by Hugo"
languageCode = "en"
contentDir = "{content}"
paginate = 20
rssLimit = 20
disableKinds = ["robotsTXT", "404"]

[taxonomies]
tag = "tags"
author = "authors"

[related]
threshold = 80
includeNewer = true
toLower = true

[[related.indices]]
name = "tags"
weight = 100

[[related.indices]]
name = "date"
weight = 10
"""

BASEOF = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} | {{ .Site.Title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{{ range .AlternativeOutputFormats }}<link rel="{{ .Rel }}" type="{{ .MediaType.Type }}" \
href="{{ .Permalink }}">{{ end }}
</head><body><header><a href="{{ .Site.Home.Permalink }}">{{ .Site.Title }}</a>
<nav>{{ range .Site.Sections }}<a href="{{ .Permalink }}">{{ .Title }}</a> {{ end }}</nav></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
"""

SINGLE = """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time>
{{ range .Params.authors }} <a href="{{ "authors/" | relURL }}{{ . | urlize }}/">{{ . }}</a>{{ end }}</p>
{{ .Content }}
<ul>{{ range .Params.tags }}<li><a href="{{ "tags/" | relURL }}{{ . | urlize }}/">{{ . }}</a></li>{{ end }}</ul>
RELATED
</article>{{ end }}
"""

RELATED = """{{ with .Site.RegularPages.Related . | first 5 }}<aside><h2>Read also</h2><ul>
{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></aside>{{ end }}"""

LIST = """{{ define "main" }}<h1>{{ .Title }}</h1><ol>
{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2 Jan 2006" }}</time><p>{{ .Summary }}</p></li>{{ end }}</ol>
{{ with .Paginator.Prev }}<a rel="prev" href="{{ .URL }}">Newer</a>{{ end }}
{{ with .Paginator.Next }}<a rel="next" href="{{ .URL }}">Older</a>{{ end }}{{ end }}
"""

TERMS = """{{ define "main" }}<h1>{{ .Title }}</h1><ul>
{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a>
({{ .Count }})</li>{{ end }}</ul>{{ end }}
"""


def hugo_version() -> str | None:
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    return subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip()


def write_content(
    root: Path, stories: Sequence[dict[str, Any]], entries: Sequence[ListingEntry]
) -> int:
    written = 0
    for story, entry in zip(stories, entries, strict=True):
        section = entry.section.slug if entry.section else "news"
        folder = root / section
        folder.mkdir(parents=True, exist_ok=True)
        front = {
            "title": entry.headline,
            "date": story["firstcreated"],
            "lastmod": story["versioncreated"],
            "summary": entry.excerpt or "",
            "tags": sorted({tag.name for tag in entry.tags}),
            "authors": [author.name for author in entry.authors],
        }
        text = json.dumps(front, ensure_ascii=False, indent=1) + "\n" + story["body_html"] + "\n"
        (folder / f"{entry.article_id}.html").write_text(text, encoding="utf-8")
        written += 1
    return written


def _site(root: Path, content: Path, related: bool) -> None:
    (root / "layouts" / "_default").mkdir(parents=True)
    (root / "hugo.toml").write_text(CONFIG.format(content=content))
    layouts = root / "layouts" / "_default"
    (layouts / "baseof.html").write_text(BASEOF)
    (layouts / "single.html").write_text(SINGLE.replace("RELATED", RELATED if related else ""))
    (layouts / "list.html").write_text(LIST)
    (layouts / "terms.html").write_text(TERMS)


def _build(root: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        ["hugo", "--source", str(root), "--destination", str(root / "public"), "--quiet"],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"hugo failed: {proc.stderr[-2000:]}")
    files = [p for p in (root / "public").rglob("*") if p.is_file()]
    pages = sum(1 for p in files if p.suffix in (".html", ".xml"))
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "pages": pages,
        "pages_per_s": round(pages / seconds, 1),
        "html_pages": sum(1 for p in files if p.suffix == ".html"),
        "xml_files": sum(1 for p in files if p.suffix == ".xml"),
    }


def measure_hugo(
    stories: Sequence[dict[str, Any]], entries: Sequence[ListingEntry]
) -> dict[str, Any]:
    """Both builds of the same stories (see the module)."""
    version = hugo_version()
    if version is None:
        return {"skipped": "hugo is not installed (make bench-site installs Debian's package)"}
    work = Path(tempfile.mkdtemp(prefix="wirepress-bench-hugo-"))
    try:
        content = work / "content"
        count = write_content(content, stories, entries)
        result: dict[str, Any] = {"version": version, "stories": count}
        for related in (True, False):
            site = work / ("related" if related else "plain")
            _site(site, content, related)
            print(f"  hugo, {'with' if related else 'without'} .Related ...", flush=True)
            result["with_related" if related else "without_related"] = _build(site)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
