//! Content sniffing: a file's type decided by its first bytes (magic numbers), never by the
//! client's `Content-Type` or extension; the extension only picks among types the bytes
//! already allow.

use super::{is_raster_image, SNIFF_BYTES};

/// A type decided by the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    /// The MIME type stored and served.
    pub content_type: &'static str,
    /// The extension of the stored key.
    pub extension: &'static str,
}

impl FileKind {
    const fn new(content_type: &'static str, extension: &'static str) -> Self {
        Self {
            content_type,
            extension,
        }
    }

    /// Whether it is an image an avatar may be (JPEG, PNG, GIF, WebP; not SVG).
    pub fn is_raster_image(&self) -> bool {
        is_raster_image(self.content_type)
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A program (PE, ELF, Mach-O, script with `#!`, WebAssembly).
    #[error("executable files are not accepted")]
    Executable,
    /// Bytes of no allowed type.
    #[error("this file type is not accepted")]
    Unknown,
}

const JPEG: FileKind = FileKind::new("image/jpeg", "jpg");
const PNG: FileKind = FileKind::new("image/png", "png");
const GIF: FileKind = FileKind::new("image/gif", "gif");
const WEBP: FileKind = FileKind::new("image/webp", "webp");
const PDF: FileKind = FileKind::new("application/pdf", "pdf");
const ZIP: FileKind = FileKind::new("application/zip", "zip");
const DOCX: FileKind = FileKind::new(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
);
const XLSX: FileKind = FileKind::new(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx",
);
const PPTX: FileKind = FileKind::new(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptx",
);
const DOC: FileKind = FileKind::new("application/msword", "doc");
const XLS: FileKind = FileKind::new("application/vnd.ms-excel", "xls");
const PPT: FileKind = FileKind::new("application/vnd.ms-powerpoint", "ppt");
const TEXT: FileKind = FileKind::new("text/plain; charset=utf-8", "txt");
const CSV: FileKind = FileKind::new("text/csv; charset=utf-8", "csv");
const SVG: FileKind = FileKind::new("image/svg+xml", "svg");
const HTML: FileKind = FileKind::new("text/html; charset=utf-8", "html");

/// Decides a file's type from its bytes while they stream past: it keeps the first
/// [`SNIFF_BYTES`] and checks, across chunks, whether the whole file is UTF-8 without NUL.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    /// An incomplete UTF-8 sequence at the end of the last chunk.
    carry: Vec<u8>,
    not_text: bool,
    size: u64,
}

impl Sniffer {
    /// A sniffer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Looks at the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.size += chunk.len() as u64;
        if self.head.len() < SNIFF_BYTES {
            let room = SNIFF_BYTES - self.head.len();
            self.head.extend(chunk.iter().take(room));
        }
        if self.not_text {
            return;
        }
        if chunk.contains(&0) {
            self.not_text = true;
            return;
        }
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(chunk);
        match std::str::from_utf8(&joined) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                // Keep the incomplete character's bytes for the next chunk.
                self.carry = joined.split_off(e.valid_up_to());
            }
            Err(_) => self.not_text = true,
        }
    }

    /// Whether the head already shows a program, so the upload can stop early.
    pub fn is_executable(&self) -> bool {
        is_executable(&self.head)
    }

    /// The type the bytes seen so far allow (text if they are text so far). Once the head is
    /// full (or the file ended) only [`finish`](Self::finish) can still refuse: a file that
    /// turns out not to be UTF-8 text; it never picks another type.
    pub fn kind_so_far(&self, file_name: &str) -> std::result::Result<FileKind, Refusal> {
        sniff(&self.head, !self.not_text, file_name)
    }

    /// The type, once every byte was fed. `file_name` (sanitised) only picks among the types
    /// the bytes allow.
    pub fn finish(self, file_name: &str) -> std::result::Result<FileKind, Refusal> {
        let text = !self.not_text && self.carry.is_empty();
        sniff(&self.head, text, file_name)
    }
}

/// Decides the type of a whole file held in memory (tests, small files).
pub fn sniff_bytes(bytes: &[u8], file_name: &str) -> std::result::Result<FileKind, Refusal> {
    let mut sniffer = Sniffer::new();
    sniffer.feed(bytes);
    sniffer.finish(file_name)
}

fn is_executable(head: &[u8]) -> bool {
    const MAGICS: &[&[u8]] = &[
        b"MZ",
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"#!",
        b"\0asm",
    ];
    MAGICS.iter().any(|m| head.starts_with(m))
}

fn extension(file_name: &str) -> String {
    file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn sniff(head: &[u8], text: bool, file_name: &str) -> std::result::Result<FileKind, Refusal> {
    if is_executable(head) {
        return Err(Refusal::Executable);
    }
    let ext = extension(file_name);
    if head.starts_with(b"\xff\xd8\xff") {
        return Ok(JPEG);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PNG);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(GIF);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP".as_slice()) {
        return Ok(WEBP);
    }
    if head.starts_with(b"%PDF-") {
        return Ok(PDF);
    }
    if head.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        return Ok(match ext.as_str() {
            "xls" => XLS,
            "ppt" => PPT,
            _ => DOC,
        });
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        if contains(head, b"[Content_Types].xml") {
            if contains(head, b"word/") {
                return Ok(DOCX);
            }
            if contains(head, b"xl/") {
                return Ok(XLSX);
            }
            if contains(head, b"ppt/") {
                return Ok(PPTX);
            }
            match ext.as_str() {
                "docx" => return Ok(DOCX),
                "xlsx" => return Ok(XLSX),
                "pptx" => return Ok(PPTX),
                _ => {}
            }
        }
        return Ok(ZIP);
    }
    if !text {
        return Err(Refusal::Unknown);
    }
    let start = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start: Vec<u8> = start
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(1024)
        .map(u8::to_ascii_lowercase)
        .collect();
    if start.starts_with(b"<svg") || (start.starts_with(b"<?xml") && contains(&start, b"<svg")) {
        return Ok(SVG);
    }
    if start.starts_with(b"<!doctype html")
        || start.starts_with(b"<html")
        || start.starts_with(b"<head")
        || start.starts_with(b"<body")
        || start.starts_with(b"<script")
        || start.starts_with(b"<iframe")
        || (start.starts_with(b"<?xml") && contains(&start, b"<html"))
    {
        return Ok(HTML);
    }
    Ok(if ext == "csv" { CSV } else { TEXT })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attachment::{disposition, Disposition};

    const PNG_BYTES: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn images_and_pdf_are_known_by_their_bytes() {
        assert_eq!(sniff_bytes(PNG_BYTES, "photo.pdf"), Ok(PNG));
        assert_eq!(sniff_bytes(b"\xff\xd8\xff\xe0rest", "a.png"), Ok(JPEG));
        assert_eq!(sniff_bytes(b"GIF89a....", "a"), Ok(GIF));
        assert_eq!(sniff_bytes(b"RIFF\x10\0\0\0WEBPVP8 ", "a"), Ok(WEBP));
        assert_eq!(sniff_bytes(b"%PDF-1.7\n%\xe2\xe3", "a.jpg"), Ok(PDF));
    }

    #[test]
    fn executables_are_refused_whatever_their_name() {
        for bytes in [
            &b"MZ\x90\0\x03"[..],
            b"\x7fELF\x02\x01",
            b"\xcf\xfa\xed\xfe\x07",
            b"#!/bin/sh\nrm -rf /\n",
            b"\0asm\x01\0\0\0",
        ] {
            assert_eq!(sniff_bytes(bytes, "cat.jpg"), Err(Refusal::Executable));
        }
    }

    #[test]
    fn unknown_binary_is_refused() {
        assert_eq!(
            sniff_bytes(b"\x01\x02\0\x03binary", "a.txt"),
            Err(Refusal::Unknown)
        );
        assert_eq!(sniff_bytes(b"\xff\xfe\xfd", "a.txt"), Err(Refusal::Unknown));
    }

    #[test]
    fn office_and_zip() {
        let docx = b"PK\x03\x04\x14\0\0\0[Content_Types].xml....PK\x03\x04word/document.xml";
        assert_eq!(sniff_bytes(docx, "x.zip"), Ok(DOCX));
        let xlsx = b"PK\x03\x04\x14\0[Content_Types].xml..xl/workbook.xml";
        assert_eq!(sniff_bytes(xlsx, "x"), Ok(XLSX));
        assert_eq!(sniff_bytes(b"PK\x03\x04\x14\0\0\0a.txt", "x.docx"), Ok(ZIP));
        let ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0";
        assert_eq!(sniff_bytes(ole, "budget.xls"), Ok(XLS));
        assert_eq!(sniff_bytes(ole, "letter"), Ok(DOC));
    }

    #[test]
    fn text_csv_svg_and_html() {
        assert_eq!(sniff_bytes("héllo\n".as_bytes(), "notes"), Ok(TEXT));
        assert_eq!(sniff_bytes(b"a,b\n1,2\n", "data.CSV"), Ok(CSV));
        assert_eq!(
            sniff_bytes(b"\xef\xbb\xbf  <svg xmlns='x'/>", "a.png"),
            Ok(SVG)
        );
        assert_eq!(
            sniff_bytes(b"<?xml version='1.0'?><svg/>", "a.txt"),
            Ok(SVG)
        );
        assert_eq!(sniff_bytes(b"<!DOCTYPE html><script>", "a.txt"), Ok(HTML));
        assert_eq!(disposition(SVG.content_type), Disposition::Download);
        assert_eq!(disposition(HTML.content_type), Disposition::Download);
        assert_eq!(disposition(PNG.content_type), Disposition::Inline);
        assert!(!SVG.is_raster_image() && PNG.is_raster_image());
    }

    #[test]
    fn text_with_nul_is_not_text() {
        assert_eq!(sniff_bytes(b"abc\0def", "a.txt"), Err(Refusal::Unknown));
    }

    #[test]
    fn utf8_split_across_chunks_is_still_text() {
        let bytes = "ünïcödé".as_bytes();
        let mut s = Sniffer::new();
        for chunk in bytes.chunks(1) {
            s.feed(chunk);
        }
        assert_eq!(s.size(), bytes.len() as u64);
        assert_eq!(s.finish("a"), Ok(TEXT));
        // A sequence cut off at the very end is not text.
        let mut s = Sniffer::new();
        s.feed(&bytes[..1]);
        assert_eq!(s.finish("a"), Err(Refusal::Unknown));
    }

    #[test]
    fn the_head_is_bounded() {
        let mut s = Sniffer::new();
        for _ in 0..100 {
            s.feed(&[b'a'; 1000]);
        }
        assert_eq!(s.head.len(), SNIFF_BYTES);
        assert!(!s.is_executable());
    }
}
