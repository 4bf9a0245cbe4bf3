//! The QR code, drawn in the browser from the `otpauth://` URI with the `qrcode` crate (SVG).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use yew::prelude::*;

/// The SVG markup of a QR code with its quiet zone, at least 264 px wide.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let svg = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .min_dimensions(264, 264)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration: the SVG goes inline into the page.
    Some(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

/// The QR code of `data`, or a note that it could not be drawn. A function, not a component
/// (which costs more of the app's download); the caller keeps it with `use_memo`, so it is
/// drawn once per code.
pub fn view(data: &str) -> Html {
    match qr_svg(data) {
        Some(svg) => html! {
            <div class="qr" role="img" aria-label="QR code">
                { Html::from_html_unchecked(AttrValue::from(svg)) }
            </div>
        },
        None => {
            html! { <p role="alert">{ "The QR code could not be drawn; use the key below." }</p> }
        }
    }
}
