"""What every chart of the product shares (pygal's Style), so they read as one family.

Matches static/css/app.css: ink, muted grey, hairline guides, the system font.
"""

ACCENT = "#0f8a5f"
MUTED = "#8a93a3"

STYLE = dict(
    background="transparent",
    plot_background="transparent",
    foreground="#16181d",
    foreground_strong="#16181d",
    foreground_subtle="#5d6472",
    font_family='system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif',
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    tooltip_font_size=12,
    value_label_font_size=11,
    no_data_font_size=16,
    guide_stroke_color="#e2e5ea",
    major_guide_stroke_color="#e2e5ea",
    guide_stroke_dasharray="2,3",
    major_guide_stroke_dasharray="2,3",
    transition="0ms",
)
