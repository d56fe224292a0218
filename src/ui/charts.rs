//! Charts as server-rendered SVG: stacked bars (runs per day by status, memos per day)
//! and lines (duration percentiles). No script, no library: the page is the chart, and
//! a table of the same numbers follows each one for screen readers.
use maud::{Markup, html};

/// One series: a label, a CSS class for its colour, a value per day.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub class: String,
    pub values: Vec<f64>,
}

const W: f64 = 600.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// A round number at or above `max` for the top of the axis.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * mag >= max {
            return step * mag;
        }
    }
    10.0 * mag
}

fn fmt_num(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The frame: y axis with three ticks, x labels (thinned to fit).
fn frame(labels: &[String], top: f64) -> Markup {
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1);
    let slot = (W - LEFT - RIGHT) / n as f64;
    let every = (n as f64 / 8.0).ceil().max(1.0) as usize;
    html! {
        @for i in 0..3 {
            @let v = top * i as f64 / 2.0;
            @let y = TOP + plot_h - plot_h * i as f64 / 2.0;
            line.axis x1=(LEFT) x2=(W - RIGHT) y1=(y) y2=(y) {}
            text x=(LEFT - 4.0) y=(y + 4.0) text-anchor="end" { (fmt_num(v)) }
        }
        @for (i, l) in labels.iter().enumerate() {
            @if i % every == 0 {
                text x=(LEFT + slot * (i as f64 + 0.5)) y=(H - 6.0) text-anchor="middle" { (l) }
            }
        }
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        ul.legend {
            @for s in series {
                li { span.swatch.(format!("s-{}", s.class)) {} (s.label) }
            }
        }
    }
}

/// The numbers behind a chart, as a table (folded away).
fn data_table(labels: &[String], series: &[Series]) -> Markup {
    html! {
        details {
            summary { "The numbers" }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "day" } @for s in series { th.num scope="col" { (s.label) } } } }
                    tbody {
                        @for (i, l) in labels.iter().enumerate() {
                            tr {
                                th scope="row" { (l) }
                                @for s in series { td.num { (fmt_num(s.values.get(i).copied().unwrap_or(0.0))) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bars per day, the series stacked in order.
pub fn stacked_bars(
    id: &str,
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[Series],
) -> Markup {
    let n = labels.len().max(1);
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let top = nice_max(totals.iter().cloned().fold(0.0, f64::max));
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT - RIGHT) / n as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let mut rects = Vec::new();
    for i in 0..n {
        let mut y = TOP + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let h = plot_h * v / top;
            y -= h;
            let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
            let tip = format!(
                "{}: {} {}",
                labels.get(i).map(String::as_str).unwrap_or(""),
                fmt_num(v),
                s.label
            );
            rects.push((x, y, bar_w, h, s.class.clone(), tip));
        }
    }
    let total: f64 = totals.iter().sum();
    figure(
        id,
        title,
        unit,
        labels,
        series,
        total,
        html! {
            (frame(labels, top))
            @for (x, y, w, h, class, tip) in &rects {
                rect.(format!("s-{class}")) x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{w:.1}")) height=(format!("{h:.1}")) { title { (tip) } }
            }
        },
    )
}

/// One line per series over the days (a day without a value breaks nothing: it is 0).
pub fn lines(id: &str, title: &str, unit: &str, labels: &[String], series: &[Series]) -> Markup {
    let n = labels.len().max(1);
    let top = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().cloned())
            .fold(0.0, f64::max),
    );
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT - RIGHT) / n as f64;
    let point = |i: usize, v: f64| {
        (
            LEFT + slot * (i as f64 + 0.5),
            TOP + plot_h - plot_h * v / top,
        )
    };
    let total: f64 = series.iter().flat_map(|s| s.values.iter()).sum();
    figure(
        id,
        title,
        unit,
        labels,
        series,
        total,
        html! {
            (frame(labels, top))
            @for s in series {
                @let pts: Vec<String> = s.values.iter().enumerate().map(|(i, v)| { let (x, y) = point(i, *v); format!("{x:.1},{y:.1}") }).collect();
                polyline.(format!("s-{}", s.class)) points=(pts.join(" ")) {}
                @for (i, v) in s.values.iter().enumerate() {
                    @if *v > 0.0 {
                        @let (x, y) = point(i, *v);
                        circle.(format!("s-{}", s.class)) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="3" {
                            title { (labels.get(i).map(String::as_str).unwrap_or("")) ": " (fmt_num(*v)) " " (unit) " " (s.label) }
                        }
                    }
                }
            }
        },
    )
}

fn figure(
    id: &str,
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[Series],
    total: f64,
    marks: Markup,
) -> Markup {
    let desc = format!(
        "{title} over {} days ({unit}); the numbers follow the chart",
        labels.len()
    );
    html! {
        figure.chart #(id) aria-labelledby=(format!("{id}-title")) {
            figcaption #(format!("{id}-title")) { (title) " " span.muted { "(" (unit) ")" } }
            @if total == 0.0 { p.muted { "Nothing in these days yet." } }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(desc) {
                (marks)
            }
            (legend(series))
            (data_table(labels, series))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, class: &str, v: &[f64]) -> Series {
        Series {
            label: label.into(),
            class: class.into(),
            values: v.to_vec(),
        }
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(240.0), 250.0);
    }

    #[test]
    fn stacked_bars_draw_one_rect_per_nonzero_value_and_scale_to_the_axis() {
        let labels: Vec<String> = ["01-01", "01-02"].iter().map(|s| s.to_string()).collect();
        let svg = stacked_bars(
            "runs",
            "Runs per day",
            "runs",
            &labels,
            &[
                s("success", "success", &[3.0, 0.0]),
                s("failed", "failed", &[2.0, 0.0]),
            ],
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        // 3 + 2 = 5 reaches the top of a 0..5 axis: the stack spans the plot height.
        assert!(
            svg.contains(r#"height="111.6""#) && svg.contains(r#"height="74.4""#),
            "{svg}"
        );
        assert!(svg.contains("01-01: 3 success"));
        assert!(svg.contains("<table>"));
    }

    #[test]
    fn lines_mark_each_day_with_a_value() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let svg = lines(
            "d",
            "Duration",
            "s",
            &labels,
            &[s("p50", "a", &[1.0, 2.0, 0.0])],
        )
        .into_string();
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 2);
        let empty = lines("e", "Duration", "s", &labels, &[s("p50", "a", &[0.0; 3])]).into_string();
        assert!(empty.contains("Nothing in these days yet."));
    }
}
