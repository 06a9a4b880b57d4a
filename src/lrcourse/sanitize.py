"""Nothing a student wrote runs in a reader's browser: a preprocessor for feedback and formgrader.

A submission is a notebook the student controls completely: the text of written answers,
every output (a cell can display any HTML, SVG or JavaScript), cell and notebook metadata.
nbconvert turns markdown and HTML outputs into the page as they are, so `<img src=x
onerror=...>` in an answer ran in the feedback page and in formgrader, with the
instructor's Jupyter cookie. This step rewrites the notebook before any template sees it:

* markdown cells are rendered to HTML here, with nbconvert's own markdown renderer, and
  the HTML is cleaned by an allowlist (nh3, the Ammonia sanitizer): no script, no event
  handler, no style, no frame, no form, links only to http(s)/mailto, images only as
  embedded PNG/JPEG/GIF data. The cell then holds that HTML as one line inside a
  `<div>`, which every markdown renderer passes through unchanged, so the template
  shows exactly the cleaned HTML (math stays as `$...$` text for MathJax);
* HTML and markdown outputs are cleaned the same way; an SVG output becomes an `<img>`
  of itself (a browser runs no script inside an image); JavaScript, widget and any other
  output type is replaced by a note saying what was left out;
* output metadata that templates turn into markup (`isolated` iframes, file names) and
  the notebook's widget state are dropped.

nbconvert's own `HTMLExporter.sanitize_html` is not enough here: nbgrader's feedback and
formgrade templates render markdown cells in their own blocks, which never apply it, and
its allowlist escapes ordinary tags (`<p>`, `<h1>`, `<th>`), so the course's pages and
pandas tables would show as markup.

Selected twice in nbgrader_config.py: in `GenerateFeedback.preprocessors` (feedback) and in
`HTMLExporter.preprocessors`, which formgrader's exporter reads. Where both apply (feedback)
it runs once.
"""

from __future__ import annotations

import base64
import re

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode, from_dict

# Tags: Ammonia's default allowlist (no script, style, iframe, object, form, input, svg, math).
TAGS = set(nh3.ALLOWED_TAGS)
ATTRIBUTES = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES["*"] = {"class", "title"}  # syntax highlighting and table styling use classes
for heading in ("h1", "h2", "h3", "h4", "h5", "h6"):
    ATTRIBUTES[heading] = {"id"}  # nbconvert's heading anchors
# "data" passes the scheme check so that attribute_filter can allow data: images only.
URL_SCHEMES = {"http", "https", "mailto", "data"}
SAFE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")
SAFE_LINK = re.compile(r"(https?:|mailto:|#)", re.I)

SAFE_OUTPUT_TYPES = {"text/plain", "image/png", "image/jpeg", "text/latex"}  # templates escape these
IMAGE_METADATA = {"width", "height", "unconfined", "alt"}
DONE = "lrcourse_sanitized"  # resources flag: this conversion is already sanitized
# What the cleaner removes that shows intent, so the grader is told something was removed.
RUNNABLE = re.compile(r"<\s*(script|iframe|object|embed|form)\b|\son[a-z]+\s*=|javascript:", re.I)
REMOVED_NOTE = ('<p class="lrcourse-removed"><em>(HTML that could run in a browser was removed from this '
                'answer.)</em></p>')


def keep_attribute(tag: str, name: str, value: str) -> str | None:
    """Images only from embedded data, links only to the web, mail or an anchor on the page."""
    if tag == "img" and name == "src":
        return value if SAFE_IMAGE.match(value.strip()) else None
    if name in ("href", "cite"):
        return value if SAFE_LINK.match(value.strip()) else None
    return value


def clean_html(html: str) -> str:
    """HTML with nothing that can run: an allowlist of tags and attributes, script and style
    elements removed with their content, no comments."""
    return nh3.clean(html, tags=TAGS, clean_content_tags={"script", "style"}, attributes=ATTRIBUTES,
                     attribute_filter=keep_attribute, url_schemes=URL_SCHEMES, strip_comments=True)


def inert_markdown(html: str) -> str:
    """Markdown whose rendering is exactly `html`: one HTML block on one line (a blank line
    would end the block), newlines written as `&#10;`, which HTML reads as a newline."""
    return '<div class="lrcourse-sanitized">' + html.strip().replace("\n", "&#10;") + "</div>"


def markdown_to_html(source: str, attachments: dict | None = None) -> str:
    """What nbconvert's HTMLExporter renders (its `markdown2html` filter, attachments embedded)."""
    renderer = IPythonRenderer(escape=False, attachments=embedded_images(attachments))
    return MarkdownWithMath(renderer=renderer).render(source)


def clean_markdown(source: str, attachments: dict | None = None) -> str:
    """A markdown cell's source, rendered and cleaned, as markdown that renders to the clean HTML."""
    html = markdown_to_html(source, attachments)
    return inert_markdown(clean_html(html) + (REMOVED_NOTE if RUNNABLE.search(html) else ""))


def embedded_images(attachments: dict | None) -> dict:
    """A cell's attachments limited to bitmap images (the only ones the cleaner keeps)."""
    kept = {}
    for name, bundle in (attachments or {}).items():
        images = {k: v for k, v in bundle.items() if k in ("image/png", "image/jpeg", "image/gif")}
        if images:
            kept[name] = images
    return kept


def svg_as_image(svg: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="SVG output">'


def clean_output(output: NotebookNode) -> None:
    """Make one display_data / execute_result output safe in place."""
    data = dict(output.get("data", {}))
    kept: dict[str, object] = {k: v for k, v in data.items() if k in SAFE_OUTPUT_TYPES}
    if "text/html" in data:
        kept["text/html"] = clean_html(join(data["text/html"]))
    elif "text/markdown" in data:
        kept["text/html"] = clean_html(markdown_to_html(join(data["text/markdown"])))
    elif "image/svg+xml" in data:
        kept["text/html"] = svg_as_image(join(data["image/svg+xml"]))
    dropped = sorted(k for k in data if k not in kept and k not in ("text/markdown", "image/svg+xml"))
    if dropped and not kept:
        kept["text/plain"] = f"[output not shown: {', '.join(dropped)} could run code in the reader's browser]"
    output["data"] = from_dict(kept)
    metadata = output.get("metadata", {})
    output["metadata"] = from_dict({k: {m: v for m, v in metadata[k].items() if m in IMAGE_METADATA}
                                    for k in ("image/png", "image/jpeg")
                                    if k in kept and isinstance(metadata.get(k), dict)})
    output.pop("svg_filename", None)


def join(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class SanitizeStudentContent(Preprocessor):
    """Feedback and formgrader step: student-supplied markdown, HTML, SVG and JavaScript made inert."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        if resources is not None and resources.get(DONE):
            return nb, resources
        nb.metadata.pop("widgets", None)
        nb, resources = super().preprocess(nb, resources)
        if resources is not None:
            resources[DONE] = True
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = clean_markdown(cell.source, cell.get("attachments"))
            cell.pop("attachments", None)
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result"):
                    clean_output(output)
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and "grade_id" in meta:  # templates write it into names and links
            meta["grade_id"] = re.sub(r"[^\w-]", "_", str(meta["grade_id"]))
        tags = cell.get("metadata", {}).get("tags")
        if tags is not None:  # templates write tags into class attributes
            cell.metadata["tags"] = [t for t in tags if isinstance(t, str) and re.fullmatch(r"[\w-]+", t)]
        return cell, resources
