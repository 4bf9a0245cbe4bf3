//! The QR code, drawn in the browser from the `otpauth://` URI with the `qrcode` crate: the
//! crate encodes the modules and this module picks the mask and writes them as one SVG path
//! (the crate's own SVG renderer, generic over its canvas, cost more of the app's download).

use crate::element::el;
use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};
use std::fmt::Write;
use yew::prelude::*;

/// Modules of light margin around the code (the quiet zone the standard asks for).
const QUIET_ZONE: usize = 4;

/// The eight masks, in the standard's order (the first of equal penalties is taken).
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The modules of the QR code of `data` (row by row, `true` for dark) and its width.
///
/// The data is encoded in byte mode, at the smallest version it fits at level M. The crate's
/// automatic choice (`QrCode::with_error_correction_level`) mixes modes to save a few modules
/// on the key's capitals, but its segment parser and optimiser cost 1.7 kB of the app's
/// download. For this server's URIs (a 32-character key) byte mode gives the same version or
/// the next one: 4 modules wider, drawn at the same 264 px.
///
/// The mask is the one with the lowest [`penalty`], the same the crate's `QrCode::with_bits`
/// picks; its own scoring allocates a boxed closure for every module and took most of the
/// time between the server's answer and the code on screen (3.5 ms natively, more in the
/// browser).
fn modules(data: &str) -> Option<(Vec<bool>, usize)> {
    let bits = (1..=40).find_map(|version| {
        let mut bits = Bits::new(Version::Normal(version));
        bits.push_byte_data(data.as_bytes()).ok()?;
        bits.push_terminator(EcLevel::M).ok()?;
        Some(bits)
    })?;
    let version = bits.version();
    let (data, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = version.width() as usize;
    let dark = MASKS
        .iter()
        .map(|&mask| {
            let mut masked = canvas.clone();
            masked.apply_mask(mask);
            masked
                .into_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect::<Vec<_>>()
        })
        .min_by_key(|dark| penalty(dark, width))?;
    Some((dark, width))
}

/// The standard's penalty of a masked code, rules 1 to 4 as the `qrcode` crate counts them
/// (less its constant for the three finder patterns, the same for every mask): runs of five
/// or more of one colour, 2×2 blocks, finder-like `#.###.#` with four light modules on a
/// side, and the distance from half dark.
fn penalty(dark: &[bool], width: usize) -> usize {
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    let mut score = 0;
    for across in [true, false] {
        for line in 0..width {
            let at = |i: usize| {
                i < width
                    && if across {
                        dark[line * width + i]
                    } else {
                        dark[i * width + line]
                    }
            };
            let mut run = 1;
            for i in 1..=width {
                if i < width && at(i) == at(i - 1) {
                    run += 1;
                } else {
                    if run >= 5 {
                        score += run - 2;
                    }
                    run = 1;
                }
            }
            for i in 0..width - 6 {
                if (0..7).all(|k| at(i + k) == FINDER[k])
                    && (!(i.saturating_sub(4)..i).any(at) || !(i + 7..i + 11).any(at))
                {
                    score += 40;
                }
            }
        }
    }
    for y in 0..width - 1 {
        for x in 0..width - 1 {
            let i = y * width + x;
            let c = dark[i];
            if dark[i + 1] == c && dark[i + width] == c && dark[i + width + 1] == c {
                score += 3;
            }
        }
    }
    let ratio = dark.iter().filter(|d| **d).count() * 200 / dark.len();
    score + ratio.abs_diff(100)
}

/// The SVG markup of a QR code with its quiet zone, 264 px wide: each run of dark modules in
/// a row is one rectangle of the path, in module units (the `viewBox` scales them).
pub fn qr_svg(data: &str) -> Option<String> {
    let (dark, width) = modules(data)?;
    let size = width + 2 * QUIET_ZONE;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="264" height="264" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#ffffff"/><path fill="#000000" d=""##
    );
    for (y, row) in dark.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            let run = row[x..].iter().take_while(|d| **d).count();
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

#[cfg(test)]
mod tests {
    use super::modules;
    use qrcode::bits::Bits;
    use qrcode::{Color, EcLevel, QrCode, Version};

    /// The crate's own choice of mask, for the same bits.
    fn crate_modules(data: &str) -> Vec<bool> {
        let bits = (1..=40)
            .find_map(|version| {
                let mut bits = Bits::new(Version::Normal(version));
                bits.push_byte_data(data.as_bytes()).ok()?;
                bits.push_terminator(EcLevel::M).ok()?;
                Some(bits)
            })
            .unwrap();
        let code = QrCode::with_bits(bits, EcLevel::M).unwrap();
        code.to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect()
    }

    #[test]
    fn the_same_modules_as_the_crate_picks() {
        let mut uris: Vec<String> = ["", "a", "hello world", "0123456789"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        // URIs like the server's, with keys of every length up to 40 and names of several
        // lengths (versions 1 to 7).
        for n in 0..200 {
            let key: String = (0..(n % 41))
                .map(|i| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(i * 7 + n) % 32]))
                .collect();
            let name = "user".repeat(1 + n % 9);
            uris.push(format!(
                "otpauth://totp/Team%20Server:{name}?secret={key}&issuer=Team%20Server"
            ));
        }
        for uri in &uris {
            let (ours, width) = modules(uri).unwrap();
            assert_eq!(ours.len(), width * width);
            assert!(ours == crate_modules(uri), "not the crate's mask for {uri}");
        }
    }
}
