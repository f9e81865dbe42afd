"""What makes the certificate a PDF/A-3b file: output intent, XMP, clean streams, associated files.

reportlab (open-source edition) writes none of these itself, so this module adds them to a
canvas before it is saved:

* an sRGB output intent, whose ICC profile littlecms (through Pillow) builds once per process,
  its creation date cleared and its profile ID recomputed so the same facts give the same bytes;
* an XMP packet naming the file PDF/A-3B and carrying, as ISO 19005-3 (6.6.3) requires, the
  same title, author, subject, keywords, creator, producer and dates as the Info dictionary;
* an end-of-line before every ``endstream`` (6.1.7.1): reportlab writes the keyword straight
  after the data, and no option changes it, so :func:`_install_stream_eol` wraps its stream
  writer once per process (the EOL, CR LF, is outside ``/Length``, so nothing else moves);
* associated files (6.8): each embedded file with its MIME type, size, date and MD5, a file
  specification with ``/AFRelationship``, listed in the catalog's ``/AF`` and its
  ``/EmbeddedFiles`` name tree.

Every font is embedded by the renderer itself (its initial font is the CJK face, so not even
an unused Helvetica is declared).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFString
from reportlab.pdfgen.canvas import Canvas

from notary.errors import Unavailable

PDF_VERSION = (1, 7)  # PDF/A-3 is built on ISO 32000-1 (PDF 1.7)
OUTPUT_CONDITION = "sRGB IEC61966-2.1"
_ENDSTREAM = b"endstream\n"


class ArchivalProfileMissing(Unavailable):
    """The sRGB profile of the output intent cannot be built (Pillow without littlecms)."""

    code = "certificate_profile_missing"


@dataclass(frozen=True)
class Attachment:
    """A file carried inside the certificate as a PDF/A-3 associated file.

    ``name`` is the file's name (a bundle member name such as ``record.json``), ``data`` its
    exact bytes, ``relationship`` the PDF/A-3 ``/AFRelationship`` (``Data``: the certificate's
    values are read from it; ``Supplement``: it proves more about them).
    """

    name: str
    media_type: str
    data: bytes
    description: str
    relationship: str = "Data"


@dataclass(frozen=True)
class DocumentInfo:
    """The document information, written once into both the Info dictionary and the XMP."""

    title: str
    author: str
    subject: str
    keywords: str
    creator: str
    producer: str
    created: dt.datetime  # aware; also the modification date: the unsigned file is made once


def _install_stream_eol() -> None:
    original = PDFStream.format
    if getattr(original, "_notary_eol", False):
        return

    def format_with_eol(self: PDFStream, document: Any) -> bytes:
        written: bytes = original(self, document)
        # Always, and CR LF: data that itself ends in a newline (a PEM file, a checkpoint)
        # counts that newline in /Length, so it cannot serve as the EOL before the keyword;
        # and after data ending in CR (a DER token, 1 in 256) a bare LF would read as the CR LF
        # EOL, one byte short of /Length. CR LF is one EOL whatever the data's last byte.
        if written.endswith(_ENDSTREAM):
            written = written[: -len(_ENDSTREAM)] + b"\r\n" + _ENDSTREAM
        return written

    format_with_eol._notary_eol = True  # type: ignore[attr-defined]
    PDFStream.format = format_with_eol  # type: ignore[method-assign]


_lock = threading.Lock()
_profile: bytes | None = None


def srgb_profile() -> bytes:
    """An sRGB ICC profile (v4, display class), the same bytes in every process.

    Raises :class:`ArchivalProfileMissing` when Pillow cannot build one.
    """
    global _profile  # noqa: PLW0603 -- built once per process, like the fonts
    if _profile is not None:
        return _profile
    with _lock:
        if _profile is None:
            try:
                from PIL import ImageCms

                built = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
            except (ImportError, OSError, ValueError) as exc:
                raise ArchivalProfileMissing(f"cannot build the sRGB profile: {exc}") from exc
            built[24:36] = bytes(12)  # creation date: littlecms writes the current time
            # The profile ID is the MD5 of the profile with flags, intent and ID zeroed (ICC.1 7.2.18).
            hashed = bytearray(built)
            hashed[44:48] = hashed[64:68] = bytes(4)
            hashed[84:100] = bytes(16)
            built[84:100] = hashlib.md5(hashed, usedforsecurity=False).digest()
            _profile = bytes(built)
        return _profile


class _RawStream(PDFStream):  # type: ignore[misc]
    """A stream written without filters: the XMP packet must stay readable as plain XML."""

    def format(self, document: Any) -> bytes:
        dictionary = PDFDictionary(dict(self.dictionary.dict))
        dictionary["Length"] = len(self.content)
        return bytes(pdfdoc.format(dictionary, document)) + b"\nstream\n" + self.content + b"\n" + _ENDSTREAM


def _pdf_date(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("D:%Y%m%d%H%M%S+00'00'")


def _xmp_date(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def xmp_packet(info: DocumentInfo) -> bytes:
    """The XMP metadata of ``info`` with the PDF/A-3B identification, UTF-8."""
    text = {key: escape(value) for key, value in vars(info).items() if isinstance(value, str)}
    date = _xmp_date(info.created)
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
 xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
<pdfaid:part>3</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{text["title"]}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{text["author"]}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text["subject"]}</rdf:li></rdf:Alt></dc:description>
<pdf:Keywords>{text["keywords"]}</pdf:Keywords>
<pdf:Producer>{text["producer"]}</pdf:Producer>
<xmp:CreatorTool>{text["creator"]}</xmp:CreatorTool>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>""".encode()


def archival_canvas(out: Any, *, pagesize: tuple[float, float], initial_font: str) -> Canvas:
    """A reproducible canvas writing PDF 1.7 whose every stream ends with an EOL."""
    _install_stream_eol()
    return Canvas(
        out,
        pagesize=pagesize,
        invariant=1,
        pageCompression=1,
        pdfVersion=PDF_VERSION,
        initialFontName=initial_font,
    )


def make_archival(canvas: Canvas, info: DocumentInfo, attachments: Sequence[Attachment]) -> None:
    """Give the document on ``canvas`` what PDF/A-3b asks beyond its pages; call before ``save``.

    Raises :class:`ArchivalProfileMissing` (see :func:`srgb_profile`).
    """
    doc = canvas._doc
    canvas.setTitle(info.title)
    canvas.setAuthor(info.author)
    canvas.setSubject(info.subject)
    canvas.setKeywords(info.keywords)
    canvas.setCreator(info.creator)
    canvas.setProducer(info.producer)
    date = _pdf_date(info.created)
    canvas.setDateFormatter(lambda *_: date)

    catalog = doc.Catalog
    # reportlab's catalog writes only the keys it knows; these two it does not.
    catalog.__NoDefault__ = [*catalog.__NoDefault__, "OutputIntents", "AF"]
    profile = PDFStream(PDFDictionary({"N": 3}), srgb_profile())
    catalog.OutputIntents = PDFArray(
        [
            PDFDictionary(
                {
                    "Type": PDFName("OutputIntent"),
                    "S": PDFName("GTS_PDFA1"),
                    "OutputConditionIdentifier": PDFString(OUTPUT_CONDITION),
                    "Info": PDFString(OUTPUT_CONDITION),
                    "DestOutputProfile": doc.Reference(profile),
                }
            )
        ]
    )
    catalog.Metadata = _RawStream(
        PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}), xmp_packet(info)
    )
    if attachments:
        specs = [(item.name, doc.Reference(_file_spec(doc, item, date))) for item in attachments]
        catalog.AF = PDFArray([reference for _, reference in specs])
        names: list[Any] = []
        for name, reference in sorted(specs, key=lambda pair: pair[0].encode("utf-8")):
            names += [PDFString(name), reference]
        catalog.Names = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})


def _file_spec(doc: Any, item: Attachment, date: str) -> PDFDictionary:
    stream = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": _EscapedName(item.media_type),
                "Params": PDFDictionary(
                    {
                        "Size": len(item.data),
                        "ModDate": PDFString(date),
                        "CheckSum": PDFString(
                            hashlib.md5(item.data, usedforsecurity=False).digest(), enc="raw"
                        ),
                    }
                ),
            }
        ),
        item.data,
    )
    reference = doc.Reference(stream)
    return PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(item.name),
            "UF": PDFString(item.name),
            "Desc": PDFString(item.description),
            "AFRelationship": PDFName(item.relationship),
            "EF": PDFDictionary({"F": reference, "UF": reference}),
        }
    )


class _EscapedName(pdfdoc.PDFObject):  # type: ignore[misc]
    """A PDF name with delimiters escaped as ``#XX`` (ISO 32000-1 7.3.5): ``/application#2Fjson``.

    reportlab's ``PDFName`` writes ``/`` as it is, which would split a MIME type in two names.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def format(self, document: Any) -> bytes:
        return b"/" + "".join(
            char if "!" <= char <= "~" and char not in "#/()<>[]{}%" else f"#{ord(char):02X}"
            for char in self.text
        ).encode("ascii")


_MEDIA_TYPES = {
    ".json": "application/json",
    ".pem": "application/x-pem-file",
    ".tsr": "application/timestamp-reply",
    ".txt": "text/plain",
}
#: What each carried bundle member is, for the file's description.
_DESCRIPTIONS = {
    "terms.json": "the terms as accepted (canonical JSON), SHA-256 = the record's terms_sha256",
    "record.json": "the evidence record, byte for byte the log leaf",
    "log/inclusion.json": "the record's inclusion proof (RFC 9162)",
    "log/checkpoint.txt": "the signed checkpoint the proof leads to (C2SP signed note)",
    "log/key.json": "the log's key, as GET /log/key answers",
}
_SOURCES = frozenset({"terms.json", "record.json"})


def bundle_attachments(members: Sequence[tuple[str, bytes]]) -> tuple[Attachment, ...]:
    """The members of an evidence bundle a certificate carries, under the bundle's names, byte
    for byte: all but the manifest (it lists the document), the document itself and README.txt.

    The record and terms are the certificate's source (``/Source``); keys, tokens and proofs
    supplement them (``/Supplement``).
    """
    carried = []
    for name, data in members:
        if name in ("manifest.json", "README.txt") or name.startswith("document."):
            continue
        extension = name[name.rfind(".") :]
        carried.append(
            Attachment(
                name=name,
                media_type=_MEDIA_TYPES.get(extension, "application/octet-stream"),
                data=data,
                description=_DESCRIPTIONS.get(name, f"{name} of the evidence bundle"),
                relationship="Source" if name in _SOURCES else "Supplement",
            )
        )
    return tuple(carried)
