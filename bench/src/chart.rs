//! The bar chart of the latest run: throughput of each driver relative to the best peer
//! (1.0), one group of bars per workload, with the reference where there is one.

use std::path::Path;

use plotters::prelude::*;

use crate::BoxError;
use crate::orchestrate::RunData;
use crate::report::Line;
use crate::workload::Driver;

const QUARRY: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
const TOKIO_PG: RGBColor = RGBColor(0x1b, 0x9e, 0x77);
const SQLX: RGBColor = RGBColor(0x75, 0x70, 0xb3);
const REFERENCE: RGBColor = RGBColor(0xaa, 0xaa, 0xaa);

/// One group of bars: label and (series index, value relative to the best peer);
/// series 0 is Quarry, 1 tokio-postgres, 2 sqlx, 3 the reference.
pub(crate) struct Group {
    pub(crate) label: String,
    pub(crate) bars: Vec<(usize, f64)>,
    pub(crate) note: Option<String>,
}

pub(crate) fn draw(
    path: &Path,
    data: &RunData,
    lines: &[Line],
    runtime: &str,
) -> Result<(), BoxError> {
    let mut groups = Vec::new();
    // W2h is about latency, not throughput: it has its own table.
    for line in lines
        .iter()
        .filter(|l| l.runtime == runtime && l.workload != crate::workload::Workload::W2h)
    {
        let best = line
            .drivers
            .iter()
            .filter(|(d, _)| *d != Driver::Quarry)
            .filter_map(|(_, c)| match c {
                crate::report::Cell::Value(s) => Some(s.median),
                _ => None,
            })
            .fold(f64::NAN, f64::max);
        if !best.is_finite() || best <= 0.0 {
            continue;
        }
        let mut bars = Vec::new();
        for (i, (_, c)) in line.drivers.iter().enumerate() {
            if let crate::report::Cell::Value(s) = c {
                bars.push((i, s.median / best));
            }
        }
        if let Some((_, r)) = &line.reference {
            bars.push((3, r.median / best));
        }
        let quarry_missing = !matches!(line.drivers[0].1, crate::report::Cell::Value(_));
        groups.push(Group {
            label: line.workload.id().to_owned(),
            bars,
            note: quarry_missing.then(|| "Quarry: n/a".to_owned()),
        });
    }
    if let Some(w8) = &data.w8 {
        groups.extend(crate::w8::chart_groups(w8));
    }
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|(_, v)| *v))
        .fold(1.0f64, f64::max);
    let ymax = (max * 1.12).min(6.0);
    let n = groups.len().max(1);

    let width = u32::try_from(130 * n + 120).unwrap_or(1400).max(760);
    let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(70);
    let title = format!(
        "Throughput relative to the best peer (= 1.0); tokio {runtime}; median of {} rounds; {}",
        data.meta.runs, data.meta.date_utc
    );
    head.draw(&Text::new(
        title,
        (12, 8),
        ("sans-serif", 16).into_font().color(&BLACK),
    ))?;
    let mut x = 12;
    for (name, color) in [
        ("Quarry", QUARRY),
        ("tokio-postgres", TOKIO_PG),
        ("sqlx", SQLX),
        (
            "reference: pgbench / psql COPY / server COPY / asyncpg",
            REFERENCE,
        ),
    ] {
        head.draw(&Rectangle::new([(x, 40), (x + 14, 54)], color.filled()))?;
        head.draw(&Text::new(
            name,
            (x + 20, 40),
            ("sans-serif", 14).into_font().color(&BLACK),
        ))?;
        let chars = i32::try_from(name.len()).unwrap_or(40);
        x += 20 + chars * 8 + 20;
    }
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax)?;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                // Group positions are small non-negative integers.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = i as usize;
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("relative throughput")
        .draw()?;

    let series = [QUARRY, TOKIO_PG, SQLX, REFERENCE];
    let bar = 0.2;
    for (s, color) in series.iter().enumerate() {
        let rects: Vec<Rectangle<(f64, f64)>> = groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| {
                let v = group.bars.iter().find(|(i, _)| *i == s)?.1.min(ymax);
                let x0 = g as f64 - 0.4 + bar * s as f64;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + bar * 0.9, v)],
                    color.filled(),
                ))
            })
            .collect();
        chart.draw_series(rects)?;
    }
    // The ratio above each Quarry bar, and notes where Quarry has no number.
    for (g, group) in groups.iter().enumerate() {
        let x = g as f64 - 0.4;
        match group.bars.iter().find(|(i, _)| *i == 0) {
            Some((_, v)) => {
                chart.draw_series(std::iter::once(Text::new(
                    format!("{v:.2}x"),
                    (x, v.min(ymax) + ymax * 0.02),
                    ("sans-serif", 13).into_font().color(&BLACK),
                )))?;
            }
            None => {
                let note = group
                    .note
                    .clone()
                    .unwrap_or_else(|| "Quarry: n/a".to_owned());
                chart.draw_series(std::iter::once(Text::new(
                    note,
                    (x, ymax * 0.05),
                    ("sans-serif", 12).into_font().color(&BLACK),
                )))?;
            }
        }
    }
    // The line every peer is measured against.
    chart.draw_series(LineSeries::new(
        [(-0.5, 1.0), (n as f64 - 0.5, 1.0)],
        BLACK.stroke_width(1),
    ))?;
    root.present()?;
    Ok(())
}
