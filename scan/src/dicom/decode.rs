//! Pixel decoding: from a file's stored samples to i16 modality values.
//!
//! Native (uncompressed) files are read whole and the PixelData element is
//! located by a small element walker, then converted straight from the bytes
//! (no per-sample allocation, no generic value conversion). Everything else
//! (deflated data sets, RLE, JPEG, JPEG 2000) goes through `dicom-pixeldata`
//! frame by frame. Both end in [`convert_frame`], which applies the bit
//! layout (BitsStored, HighBit, PixelRepresentation) and the frame's
//! RescaleSlope/RescaleIntercept, rounding and clamping into i16.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::OpenFileOptions;
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use rayon::prelude::*;

use super::error::error_chain;
use super::types::PixelFormat;
use crate::error::ScanError;

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// `UID (name)` of a transfer syntax, for messages.
pub(crate) fn describe_transfer_syntax(uid: &str) -> String {
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) => format!("{uid} ({})", ts.name()),
        None => format!("{uid} (unknown transfer syntax)"),
    }
}

/// Why pixels in transfer syntax `uid` cannot be decoded, or `None` when they can.
pub(crate) fn transfer_syntax_problem(uid: &str) -> Option<String> {
    match TransferSyntaxRegistry.get(uid) {
        None => Some(format!("unsupported transfer syntax {uid} (unknown to this reader)")),
        Some(ts) if !ts.can_decode_all() => {
            let why = if ts.name().contains("JPEG-LS") {
                "JPEG-LS decoding needs the CharLS C++ library, which this build does not link"
            } else {
                "no decoder for it in this build"
            };
            Some(format!("unsupported transfer syntax {uid} ({}): {why}", ts.name()))
        }
        Some(_) => None,
    }
}

/// True for the uncompressed transfer syntaxes read by the fast path.
pub(crate) fn is_native(uid: &str) -> bool {
    matches!(uid, IMPLICIT_LE | EXPLICIT_LE | EXPLICIT_BE)
}

/// One frame to decode: its index in the file, where its voxels go, and its rescale.
pub(crate) struct FrameJob<'a> {
    /// Frame index within the file.
    pub frame: u32,
    /// Slice index in the sorted stack (for messages).
    pub slice: usize,
    /// Destination: `rows × cols` voxels.
    pub out: &'a mut [i16],
    /// (RescaleSlope, RescaleIntercept).
    pub rescale: (f64, f64),
}

/// Where a native file keeps its pixel samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NativeLayout {
    /// Byte offset of the first sample in the file.
    pub offset: usize,
    /// Length of the PixelData value in bytes (as far as the file goes).
    pub len: usize,
    /// Samples are big endian.
    pub big_endian: bool,
    /// PixelData has VR OW (matters for 8-bit samples in big endian files).
    pub ow: bool,
}

/// Decodes the frames of one file into their destinations. `on_frame` is
/// called after each frame (for progress); `cancelled` is polled before each.
/// Returns the number of samples clamped into the i16 range.
pub(crate) fn decode_file(
    path: &Path,
    ts: &str,
    format: &PixelFormat,
    jobs: Vec<FrameJob<'_>>,
    on_frame: &(dyn Fn() + Sync),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<u64, ScanError> {
    let r = catch_unwind(AssertUnwindSafe(|| decode_file_inner(path, ts, format, jobs, on_frame, cancelled)));
    r.unwrap_or_else(|_| {
        Err(ScanError::malformed(
            path,
            format!("the pixel decoder crashed on this file (transfer syntax {})", describe_transfer_syntax(ts)),
        ))
    })
}

fn decode_file_inner(
    path: &Path,
    ts: &str,
    format: &PixelFormat,
    jobs: Vec<FrameJob<'_>>,
    on_frame: &(dyn Fn() + Sync),
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<u64, ScanError> {
    if let Some(p) = transfer_syntax_problem(ts) {
        return Err(ScanError::unsupported(path, p));
    }
    let frame_bytes = format.rows as usize * format.cols as usize * (format.bits_allocated as usize / 8);
    if is_native(ts) {
        let bytes = std::fs::read(path).map_err(|e| ScanError::from_read(path, "pixel data", e))?;
        match locate_pixel_data(&bytes) {
            Ok(layout) => {
                let data = &bytes[layout.offset..layout.offset + layout.len];
                return jobs
                    .into_par_iter()
                    .map(|job| {
                        if cancelled() {
                            return Err(ScanError::Cancelled);
                        }
                        let start = (job.frame as usize).saturating_mul(frame_bytes);
                        let src =
                            data.get(start..start.saturating_add(frame_bytes)).ok_or_else(|| ScanError::Truncated {
                                path: path.to_path_buf(),
                                what: format!(
                                    "PixelData (7FE0,0010) has {} bytes but frame {} (slice {}) needs bytes {}..{}",
                                    layout.len,
                                    job.frame + 1,
                                    job.slice,
                                    start,
                                    start.saturating_add(frame_bytes)
                                ),
                            })?;
                        let clipped = convert_frame(src, layout.big_endian, layout.ow, format, job.rescale, job.out)
                            .map_err(|e| ScanError::malformed(path, format!("slice {}: {e}", job.slice)))?;
                        on_frame();
                        Ok(clipped)
                    })
                    .try_reduce(|| 0, |a, b| Ok(a + b));
            }
            Err(e) => tracing::debug!("{}: fast pixel path not usable ({e}); using the generic reader", path.display()),
        }
    }

    // Generic path: parse the whole file, decode frame by frame.
    let obj = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| ScanError::malformed(path, format!("cannot read DICOM file: {}", error_chain(&e))))?;
    let encapsulated = matches!(obj.get(tags::PIXEL_DATA).map(|e| e.value()), Some(Value::PixelSequence(_)));
    if !encapsulated {
        // Native samples in a data set the walker could not handle (deflated, odd layout).
        let el =
            obj.get(tags::PIXEL_DATA).ok_or_else(|| ScanError::malformed(path, "no PixelData (7FE0,0010) element"))?;
        let data = el
            .value()
            .to_bytes()
            .map_err(|e| ScanError::malformed(path, format!("PixelData (7FE0,0010) cannot be read: {e}")))?;
        let ow = el.vr() == dicom_core::VR::OW;
        return jobs
            .into_par_iter()
            .map(|job| {
                if cancelled() {
                    return Err(ScanError::Cancelled);
                }
                let start = (job.frame as usize).saturating_mul(frame_bytes);
                let src = data.get(start..start.saturating_add(frame_bytes)).ok_or_else(|| ScanError::Truncated {
                    path: path.to_path_buf(),
                    what: format!(
                        "PixelData (7FE0,0010) has {} bytes but frame {} (slice {}) needs {}",
                        data.len(),
                        job.frame + 1,
                        job.slice,
                        start.saturating_add(frame_bytes)
                    ),
                })?;
                // dicom-object holds decoded values in native byte order.
                let clipped = convert_frame(src, cfg!(target_endian = "big"), ow, format, job.rescale, job.out)
                    .map_err(|e| ScanError::malformed(path, format!("slice {}: {e}", job.slice)))?;
                on_frame();
                Ok(clipped)
            })
            .try_reduce(|| 0, |a, b| Ok(a + b));
    }
    jobs.into_par_iter()
        .map(|job| {
            if cancelled() {
                return Err(ScanError::Cancelled);
            }
            let decoded = obj.decode_pixel_data_frame(job.frame).map_err(|e| {
                ScanError::malformed(
                    path,
                    format!(
                        "cannot decode frame {} (slice {}) in {}: {}",
                        job.frame + 1,
                        job.slice,
                        describe_transfer_syntax(ts),
                        error_chain(&e)
                    ),
                )
            })?;
            let mut fmt = *format;
            fmt.bits_allocated = decoded.bits_allocated();
            if decoded.rows() != format.rows || decoded.columns() != format.cols || decoded.samples_per_pixel() != 1 {
                return Err(ScanError::malformed(
                    path,
                    format!(
                        "frame {} (slice {}) decodes to {}×{}×{} samples but the header says {}×{}×1",
                        job.frame + 1,
                        job.slice,
                        decoded.columns(),
                        decoded.rows(),
                        decoded.samples_per_pixel(),
                        format.cols,
                        format.rows
                    ),
                ));
            }
            if fmt.bits_allocated != 8 && fmt.bits_allocated != 16 {
                return Err(ScanError::unsupported(
                    path,
                    format!("decoded frame has {} bits per sample", fmt.bits_allocated),
                ));
            }
            fmt.bits_stored = fmt.bits_stored.min(fmt.bits_allocated);
            fmt.high_bit = fmt.high_bit.min(fmt.bits_allocated - 1);
            let need = format.rows as usize * format.cols as usize * (fmt.bits_allocated as usize / 8);
            let src = decoded.data().get(..need).ok_or_else(|| ScanError::Truncated {
                path: path.to_path_buf(),
                what: format!(
                    "frame {} (slice {}) decodes to {} bytes, {need} expected",
                    job.frame + 1,
                    job.slice,
                    decoded.data().len()
                ),
            })?;
            // Decoders write samples little endian.
            let clipped = convert_frame(src, false, true, &fmt, job.rescale, job.out)
                .map_err(|e| ScanError::malformed(path, format!("slice {}: {e}", job.slice)))?;
            on_frame();
            Ok(clipped)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))
}

/// Reads a little- or big-endian u16/u32 at `pos`, or `None` past the end.
fn rd16(b: &[u8], pos: usize, be: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
    Some(if be { u16::from_be_bytes(s) } else { u16::from_le_bytes(s) })
}

fn rd32(b: &[u8], pos: usize, be: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
    Some(if be { u32::from_be_bytes(s) } else { u32::from_le_bytes(s) })
}

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQ_END: u32 = 0xFFFE_E0DD;
const PIXEL_DATA: u32 = 0x7FE0_0010;

/// One element header.
struct Header {
    tag: u32,
    vr: [u8; 2],
    len: u32,
    /// Bytes of the header itself.
    size: usize,
}

/// Reads an element header at `pos` (explicit or implicit VR).
fn read_header(b: &[u8], pos: usize, explicit: bool, be: bool) -> Option<Header> {
    let group = rd16(b, pos, be)? as u32;
    let elem = rd16(b, pos + 2, be)? as u32;
    let tag = group << 16 | elem;
    if group == 0xFFFE || !explicit {
        return Some(Header { tag, vr: *b"  ", len: rd32(b, pos + 4, be)?, size: 8 });
    }
    let vr: [u8; 2] = b.get(pos + 4..pos + 6)?.try_into().ok()?;
    match &vr {
        b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV" => {
            Some(Header { tag, vr, len: rd32(b, pos + 8, be)?, size: 12 })
        }
        _ => Some(Header { tag, vr, len: rd16(b, pos + 6, be)? as u32, size: 8 }),
    }
}

/// Skips a sequence of undefined length whose items start at `pos`; returns
/// the position after its delimiter.
fn skip_sequence(b: &[u8], mut pos: usize, explicit: bool, be: bool, depth: usize) -> Result<usize, String> {
    if depth > 32 {
        return Err("sequences nested too deeply".into());
    }
    loop {
        let h = read_header(b, pos, false, be).ok_or("sequence runs past the end of the file")?;
        pos += 8;
        match h.tag {
            SEQ_END => return Ok(pos),
            ITEM if h.len == UNDEFINED => pos = walk(b, pos, explicit, be, depth + 1, true)?.1,
            ITEM => pos = pos.checked_add(h.len as usize).ok_or("item length overflows")?,
            t => return Err(format!("unexpected tag {t:08X} inside a sequence")),
        }
        if pos > b.len() {
            return Err("sequence item runs past the end of the file".into());
        }
    }
}

/// Walks data set elements from `pos`. At the top level, stops at PixelData
/// and returns its header and position; inside an item of undefined length,
/// stops after the item delimiter.
fn walk(
    b: &[u8],
    mut pos: usize,
    explicit: bool,
    be: bool,
    depth: usize,
    in_item: bool,
) -> Result<(Option<Header>, usize), String> {
    loop {
        if pos >= b.len() {
            return if in_item { Err("item runs past the end of the file".into()) } else { Ok((None, pos)) };
        }
        let h = read_header(b, pos, explicit, be).ok_or("element header runs past the end of the file")?;
        if in_item && h.tag == ITEM_END {
            return Ok((None, pos + 8));
        }
        if !in_item && h.tag == PIXEL_DATA {
            return Ok((Some(h), pos));
        }
        pos += h.size;
        if h.len == UNDEFINED {
            let is_un = &h.vr == b"UN";
            if explicit && !(is_un || &h.vr == b"SQ") {
                return Err(format!("element {:08X} has undefined length", h.tag));
            }
            // UN of undefined length holds implicit VR little endian items (CP-246).
            let (ex, be2) = if is_un { (false, false) } else { (explicit, be) };
            pos = skip_sequence(b, pos, ex, be2, depth)?;
        } else {
            pos = pos.checked_add(h.len as usize).ok_or("element length overflows")?;
        }
    }
}

/// Finds the PixelData element of a native-encoded DICOM file held in `b`.
pub(crate) fn locate_pixel_data(b: &[u8]) -> Result<NativeLayout, String> {
    let mut pos = if b.get(128..132) == Some(b"DICM") {
        132
    } else if b.starts_with(b"DICM") {
        4
    } else {
        return Err("no DICM marker".into());
    };
    // File meta group: always explicit VR little endian.
    let mut ts = None;
    loop {
        if rd16(b, pos, false) != Some(0x0002) {
            break;
        }
        let h = read_header(b, pos, true, false).ok_or("file meta group runs past the end")?;
        let end = (pos + h.size).checked_add(h.len as usize).ok_or("bad meta length")?;
        if h.tag == 0x0002_0010 {
            let v = b.get(pos + h.size..end).ok_or("TransferSyntaxUID runs past the end")?;
            ts = Some(String::from_utf8_lossy(v).trim_end_matches(['\0', ' ']).to_string());
        }
        pos = end;
    }
    let (explicit, be) = match ts.as_deref() {
        Some(IMPLICIT_LE) => (false, false),
        Some(EXPLICIT_LE) => (true, false),
        Some(EXPLICIT_BE) => (true, true),
        other => return Err(format!("transfer syntax {other:?} is not native")),
    };
    let (h, at) = walk(b, pos, explicit, be, 0, false)?;
    let h = h.ok_or("no PixelData (7FE0,0010) element")?;
    if h.len == UNDEFINED {
        return Err("encapsulated PixelData in a native transfer syntax".into());
    }
    let offset = at + h.size;
    if offset > b.len() {
        return Err("PixelData header runs past the end".into());
    }
    let len = (h.len as usize).min(b.len() - offset);
    Ok(NativeLayout { offset, len, big_endian: be, ow: !explicit || &h.vr == b"OW" })
}

/// Converts one frame of stored samples into modality values:
/// `round(stored · slope + intercept)` clamped to i16, where `stored` is the
/// sample shifted down to HighBit, masked to BitsStored and sign-extended when
/// PixelRepresentation is 1. Returns the number of clamped samples.
pub(crate) fn convert_frame(
    src: &[u8],
    big_endian: bool,
    ow: bool,
    fmt: &PixelFormat,
    (slope, intercept): (f64, f64),
    out: &mut [i16],
) -> Result<u64, String> {
    if !matches!(fmt.bits_allocated, 8 | 16 | 32) {
        return Err(format!("BitsAllocated {} is not supported (8, 16 or 32)", fmt.bits_allocated));
    }
    let n = out.len();
    let bytes = fmt.bits_allocated as usize / 8;
    if src.len() < n * bytes {
        return Err(format!("{} bytes of samples, {} needed", src.len(), n * bytes));
    }
    if !slope.is_finite() || !intercept.is_finite() {
        return Err(format!("RescaleSlope {slope} / RescaleIntercept {intercept} are not finite numbers"));
    }
    let alloc = fmt.bits_allocated as u32;
    let stored = (fmt.bits_stored as u32).clamp(1, alloc);
    let shift = (fmt.high_bit as u32 + 1).saturating_sub(stored).min(alloc - stored);
    let signed = fmt.signed;
    // Sign extension from `stored` bits of a value already shifted down.
    let extend = move |v: u32| -> i64 {
        let v = (v >> shift) & (if stored == 32 { u32::MAX } else { (1u32 << stored) - 1 });
        if signed && stored < 32 {
            let s = 32 - stored;
            (((v << s) as i32) >> s) as i64
        } else if signed {
            v as i32 as i64
        } else {
            v as i64
        }
    };
    let int_rescale = slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < 1.0e6;
    let mut clipped = 0u64;
    match bytes {
        2 => {
            let it = src.chunks_exact(2).take(n);
            if int_rescale && !signed && stored == 16 {
                // Fast path for the common cases, vectorisable.
                let ic = intercept as i32;
                for (o, c) in out.iter_mut().zip(it) {
                    let raw =
                        if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) };
                    let v = raw as i32 + ic;
                    let cv = v.clamp(i16::MIN as i32, i16::MAX as i32);
                    clipped += (cv != v) as u64;
                    *o = cv as i16;
                }
            } else if int_rescale && (stored == 16 || shift == 0) {
                let ic = intercept as i32;
                let mask = if stored == 16 { 0xFFFF } else { (1u32 << stored) - 1 };
                let s = 32 - stored;
                for (o, c) in out.iter_mut().zip(it) {
                    let raw =
                        if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) };
                    let m = raw as u32 & mask;
                    let val = if signed { ((m << s) as i32) >> s } else { m as i32 };
                    let v = val + ic;
                    let cv = v.clamp(i16::MIN as i32, i16::MAX as i32);
                    clipped += (cv != v) as u64;
                    *o = cv as i16;
                }
            } else {
                let (sl, ic) = (slope as f32, intercept as f32);
                let exact = (sl as f64) == slope && (ic as f64) == intercept;
                for (o, c) in out.iter_mut().zip(it) {
                    let raw =
                        if big_endian { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) };
                    let v = extend(raw as u32);
                    let x = if exact { v as f32 * sl + ic } else { (v as f64 * slope + intercept) as f32 };
                    *o = round_clamp(x, &mut clipped);
                }
            }
        }
        1 => {
            // In big endian files 8-bit samples in an OW element are swapped in pairs.
            let swap = big_endian && ow;
            for (idx, o) in out.iter_mut().enumerate() {
                let raw = src[if swap { idx ^ 1 } else { idx }.min(src.len() - 1)];
                let v = extend(raw as u32);
                *o = round_clamp((v as f64 * slope + intercept) as f32, &mut clipped);
            }
        }
        4 => {
            for (o, c) in out.iter_mut().zip(src.chunks_exact(4)) {
                let a = [c[0], c[1], c[2], c[3]];
                let raw = if big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) };
                let v = extend(raw);
                let x = v as f64 * slope + intercept;
                *o = round_clamp(x.clamp(-1.0e9, 1.0e9) as f32, &mut clipped);
            }
        }
        _ => return Err(format!("BitsAllocated {} is not supported", fmt.bits_allocated)),
    }
    Ok(clipped)
}

/// Rounds half away from zero and clamps into i16, counting clamped values.
#[inline]
fn round_clamp(x: f32, clipped: &mut u64) -> i16 {
    let r = x + 0.5f32.copysign(x);
    if r >= 32768.0 || r <= -32769.0 {
        *clipped += 1;
    }
    // `as` saturates (and maps NaN to 0).
    (r as i32).clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(bits_allocated: u16, bits_stored: u16, signed: bool) -> PixelFormat {
        PixelFormat {
            rows: 1,
            cols: 4,
            frames_in_file: 1,
            bits_allocated,
            bits_stored,
            high_bit: bits_stored - 1,
            signed,
            samples_per_pixel: 1,
            monochrome1: false,
        }
    }

    #[test]
    fn converts_12_bit_signed_and_unsigned() {
        // 0x0FFF in 12 bits signed is -1; upper garbage bits are masked off.
        let src: Vec<u8> = [0x0FFFu16, 0xF001, 0x0800, 0x0005].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = [0i16; 4];
        convert_frame(&src, false, true, &fmt(16, 12, true), (1.0, 0.0), &mut out).unwrap();
        assert_eq!(out, [-1, 1, -2048, 5]);
        convert_frame(&src, false, true, &fmt(16, 12, false), (1.0, -1024.0), &mut out).unwrap();
        assert_eq!(out, [4095 - 1024, 1 - 1024, 2048 - 1024, 5 - 1024]);
    }

    #[test]
    fn applies_fractional_rescale_and_clamps() {
        let src: Vec<u8> = [100i16, -3, 30000, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        let mut out = [0i16; 4];
        let clipped = convert_frame(&src, true, true, &fmt(16, 16, true), (2.5, -0.5), &mut out).unwrap();
        assert_eq!(out, [250, -8, i16::MAX, 17]);
        assert_eq!(clipped, 1);
        assert!(convert_frame(&src, true, true, &fmt(16, 16, true), (f64::NAN, 0.0), &mut out).is_err());
    }

    #[test]
    fn converts_8_and_32_bit() {
        let mut out = [0i16; 4];
        convert_frame(&[1, 2, 255, 128], false, false, &fmt(8, 8, true), (1.0, 0.0), &mut out).unwrap();
        assert_eq!(out, [1, 2, -1, -128]);
        let src: Vec<u8> = [70000u32, 5, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        convert_frame(&src, false, false, &fmt(32, 32, false), (0.5, 0.0), &mut out).unwrap();
        assert_eq!(out, [32767, 3, 0, 1]);
    }

    #[test]
    fn walker_finds_pixel_data_in_native_files_with_sequences() {
        use crate::dicom::testing::{TestSeries, write_enhanced_ct, write_test_series};
        let dir = tempfile::tempdir().unwrap();
        for (n, ts) in [IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE].into_iter().enumerate() {
            let spec = TestSeries { slices: 2, transfer_syntax: ts.into(), ..Default::default() };
            let single = write_test_series(&dir.path().join(format!("s{n}")), &spec).unwrap();
            let multi = dir.path().join(format!("m{n}"));
            write_enhanced_ct(&multi, &spec).unwrap();
            for (path, frames) in [(&single[0], 1), (&multi, 2)] {
                let bytes = std::fs::read(path).unwrap();
                let l = locate_pixel_data(&bytes).unwrap_or_else(|e| panic!("{ts}: {e}"));
                assert_eq!(l.len, 16 * 12 * 2 * frames, "{ts}");
                assert_eq!(l.offset + l.len, bytes.len(), "{ts}");
                assert_eq!(l.big_endian, ts == EXPLICIT_BE);
                let first = if l.big_endian {
                    i16::from_be_bytes([bytes[l.offset], bytes[l.offset + 1]])
                } else {
                    i16::from_le_bytes([bytes[l.offset], bytes[l.offset + 1]])
                };
                // Frame 0 of the enhanced file is the last slice.
                let k = if frames == 1 { 0 } else { 1 };
                assert_eq!(first, (spec.value)(0, 0, k), "{ts}");
            }
        }
    }

    #[test]
    fn walker_rejects_garbage_without_panicking() {
        assert!(locate_pixel_data(b"").is_err());
        let mut b = vec![0u8; 132];
        b[128..132].copy_from_slice(b"DICM");
        b.extend_from_slice(&[2, 0, 0x10, 0, b'U', b'I', 0xFF, 0xFF]);
        assert!(locate_pixel_data(&b).is_err());
    }
}
