//! The forecasting target of issue 7 on the development series: over the last eight weekly
//! origins (horizon 168 h) the automatically chosen forecast has a MASE at least 10 % below the
//! four-week same-hour mean, and its 80 % intervals cover between 75 % and 85 % of the hours.

use sb_wfm::forecast::{backtest, BacktestOptions, ForecastOptions, Series};
use std::path::{Path, PathBuf};

/// The series beside the repository (`../shared/data/arrivals`), wherever the checkout is:
/// `SWITCHBOARD_ARRIVALS` names the file explicitly, else the checkout's sibling folder, else the
/// workplace's shared folder. A missing file fails the test, saying where it was looked for.
fn development_series() -> Series {
    const FILE: &str = "shared/data/arrivals/anonymous_bank_1999H1_hourly.csv";
    let candidates: Vec<PathBuf> = std::env::var_os("SWITCHBOARD_ARRIVALS")
        .map(PathBuf::from)
        .into_iter()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..").join(FILE), Path::new("/work").join(FILE)])
        .collect();
    let Some(path) = candidates.iter().find(|path| path.is_file()) else {
        panic!("the development arrival series is missing; looked at {candidates:?}: set SWITCHBOARD_ARRIVALS to the CSV (hour_start,calls)");
    };
    let file = std::fs::File::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    Series::from_csv_reader(file, None).unwrap()
}

#[test]
fn auto_beats_the_four_week_mean_with_calibrated_intervals() {
    let series = development_series();
    assert_eq!((series.len(), series.interval_minutes), (4368, 60));
    let report = backtest(&series, BacktestOptions { forecast: ForecastOptions::new(168), evaluation_origins: 8 }, &mut |_, _| {}).unwrap();
    assert_eq!(report.origins.len(), 8);
    assert_eq!(report.origins[7].to_string(), "1999-06-25 00:00:00", "the last origin's week ends with the series");
    let baseline = report.score("mean_4w").unwrap();
    let auto = report.score("auto").unwrap();
    assert!(auto.mase <= 0.9 * baseline.mase, "auto MASE {:.3} vs mean_4w {:.3}", auto.mase, baseline.mase);
    assert!((0.75..=0.85).contains(&auto.coverage80), "80 % coverage {:.3}", auto.coverage80);
    assert!(auto.coverage95 >= 0.88, "95 % coverage {:.3}", auto.coverage95);
}
