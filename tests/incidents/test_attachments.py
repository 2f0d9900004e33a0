"""What an attachment is comes from its bytes; its name may not contradict them; limits hold."""

from __future__ import annotations

import pytest

from assay.incidents.attachments import (
    AttachmentLimits,
    AttachmentRefused,
    check_file,
    check_files,
    safe_filename,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"
JSON = b'{"turns": [{"user": "hi"}, {"bot": "<b>hello</b>"}]}'
TEXT = b"user: what is my refund?\nbot: S$500 <script>quoted</script>\n"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"
LIMITS = AttachmentLimits()


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("shot.png", PNG, "image/png"),
        ("shot.JPG", JPEG, "image/jpeg"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("shot.webp", WEBP, "image/webp"),
        ("report.pdf", PDF, "application/pdf"),
        ("chat.json", JSON, "application/json"),
        ("chat.txt", JSON, "text/plain"),  # JSON is text; the name chose text
        ("chat.txt", TEXT, "text/plain"),  # quoting markup is not being markup
        ("no-extension", PNG, "image/png"),
        ("no-extension", TEXT, "text/plain"),
        (None, JSON, "application/json"),
    ],
)
def test_accepted_by_content(name: str | None, data: bytes, media_type: str) -> None:
    assert check_file(name, data, LIMITS).media_type == media_type


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("notes.txt", PNG, 415, "named .txt but its content is image/png"),
        ("shot.png", HTML, 415, "HTML/XML markup"),
        ("page.txt", HTML, 415, "HTML/XML markup"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', 415, "markup"),
        ("anim.gif", b"GIF89a" + bytes(20), 415, "not accepted"),
        ("tool.exe", b"MZ\x90\x00" + bytes(60), 415, "not accepted"),
        ("shot.png", TEXT, 415, "named .png but its content is text/plain"),
        ("data.json", TEXT, 415, "named .json but its content is text/plain"),
        ("nul.txt", b"a\x00b", 415, "binary content"),
        ("bell.txt", b"ring\x07", 415, "control characters"),
        ("empty.png", b"", 422, "empty"),
        ("big.png", PNG + bytes(LIMITS.max_bytes), 413, "at most 5,000,000 bytes"),
    ],
)
def test_refused_with_a_clear_reason(name: str, data: bytes, status: int, words: str) -> None:
    with pytest.raises(AttachmentRefused) as caught:
        check_file(name, data, LIMITS)
    assert caught.value.status == status and words in str(caught.value) and name in str(caught.value)


def test_count_limit_and_configuration() -> None:
    with pytest.raises(AttachmentRefused, match="at most 3") as caught:
        check_files([("a.png", PNG)] * 4, LIMITS)
    assert caught.value.status == 422
    small = AttachmentLimits.from_env(
        {"ASSAY_ATTACHMENT_MAX_BYTES": "100", "ASSAY_ATTACHMENTS_PER_REPORT": "1"}
    )
    assert (small.max_bytes, small.per_report) == (100, 1)
    with pytest.raises(ValueError, match="ASSAY_ATTACHMENT_MAX_BYTES"):
        AttachmentLimits.from_env({"ASSAY_ATTACHMENT_MAX_BYTES": "5MB"})


def test_file_names_are_made_safe() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename('C:\\Users\\me\\"x"<y>.png') == "xy.png"
    assert safe_filename("a\r\nb.txt") == "ab.txt"
    assert safe_filename("") == safe_filename("...") == "attachment"
