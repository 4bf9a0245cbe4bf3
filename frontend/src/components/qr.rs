//! The QR code, drawn in the browser from the `otpauth://` URI with the `qrcode` crate: the
//! crate encodes the modules (`to_colors`), and this module writes them as one SVG path (the
//! crate's own SVG renderer, generic over its canvas, cost more of the app's download).

use crate::element::el;
use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, QrCode, Version};
use std::fmt::Write;
use yew::prelude::*;

/// Modules of light margin around the code (the quiet zone the standard asks for).
const QUIET_ZONE: usize = 4;

/// The SVG markup of a QR code with its quiet zone, 264 px wide: each run of dark modules in
/// a row is one rectangle of the path, in module units (the `viewBox` scales them).
///
/// The data is encoded in byte mode, at the smallest version it fits at level M. The crate's
/// automatic choice (`QrCode::with_error_correction_level`) mixes modes to save a few modules
/// on the key's capitals, but its segment parser and optimiser cost 1.7 kB of the app's
/// download. For this server's URIs (a 32-character key) byte mode gives the same version or
/// the next one: 4 modules wider, drawn at the same 264 px.
pub fn qr_svg(data: &str) -> Option<String> {
    let bits = (1..=40).find_map(|version| {
        let mut bits = Bits::new(Version::Normal(version));
        bits.push_byte_data(data.as_bytes()).ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        Some(bits)
    })?;
    let code = QrCode::with_bits(bits, EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="264" height="264" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#ffffff"/><path fill="#000000" d=""##
    );
    for (y, row) in code.to_colors().chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
            if run > 0 {
                let _ = write!(
                    svg,
                    "M{} {}h{run}v1h-{run}z",
                    x + QUIET_ZONE,
                    y + QUIET_ZONE
                );
            }
            x += run + 1;
        }
    }
    svg.push_str(r#""/></svg>"#);
    Some(svg)
}

/// The QR code of `data`, or a note that it could not be drawn. A function, not a component
/// (which costs more of the app's download); the caller keeps it with `use_memo`, so it is
/// drawn once per code.
pub fn view(data: &str) -> Html {
    match qr_svg(data) {
        Some(svg) => el("div")
            .class("qr")
            .attr("role", "img")
            .attr("aria-label", "QR code")
            .child(Html::from_html_unchecked(AttrValue::from(svg)))
            .into(),
        None => el("p")
            .attr("role", "alert")
            .text("The QR code could not be drawn; use the key below.")
            .into(),
    }
}
