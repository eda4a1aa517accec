//! The capacity model: from the CPU each stage spends per article, the articles per second a layout of
//! cores would give. Every stage (the three workers, RabbitMQ and PostgreSQL) is taken to spend the same CPU
//! per article whatever the number of replicas, and to turn each core it is given into `1000 / cost`
//! articles a second; the slowest stage sets the rate. On one machine whose cores every process shares, the
//! rate is also at most its cores divided by the summed cost (docs/performance.md, "Sizing").

use std::fmt;

/// CPU milliseconds per stored article of each stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Costs {
    pub fetcher: f64,
    pub extractor: f64,
    pub store: f64,
    pub rabbitmq: f64,
    pub postgres: f64,
}

impl Costs {
    pub fn total(&self) -> f64 {
        self.fetcher + self.extractor + self.store + self.rabbitmq + self.postgres
    }

    fn of(&self, stage: &str) -> f64 {
        match stage {
            "fetchers" => self.fetcher,
            "extractors" => self.extractor,
            "stores" => self.store,
            "rabbitmq" => self.rabbitmq,
            _ => self.postgres,
        }
    }
}

const STAGES: [&str; 5] = ["fetchers", "extractors", "stores", "rabbitmq", "postgres"];

/// Cores given to each stage: `fetchers=2,extractors=8,stores=1,rabbitmq=2,postgres=4`.
#[derive(Debug, Clone)]
pub struct Layout {
    cores: Vec<(&'static str, f64)>,
}

impl std::str::FromStr for Layout {
    type Err = String;

    fn from_str(spec: &str) -> Result<Layout, String> {
        let mut cores = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| format!("{part}: want STAGE=CORES"))?;
            let stage = STAGES
                .into_iter()
                .find(|s| *s == name.trim())
                .ok_or_else(|| format!("{name}: not a stage (one of {})", STAGES.join(", ")))?;
            let value: f64 =
                value.trim().parse().map_err(|_| format!("{part}: the cores must be a number"))?;
            if value.is_nan() || value <= 0.0 {
                return Err(format!("{part}: the cores must be above 0"));
            }
            cores.push((stage, value));
        }
        if STAGES.iter().any(|s| !cores.iter().any(|(c, _)| c == s)) {
            return Err(format!("{spec}: give every stage its cores ({})", STAGES.join(", ")));
        }
        Ok(Layout { cores })
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.cores.iter().map(|(s, c)| format!("{s}={c}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// Articles per second of a layout of dedicated cores, and the stage that limits it.
pub fn dedicated(costs: &Costs, layout: &Layout) -> (f64, &'static str) {
    layout
        .cores
        .iter()
        .map(|&(stage, cores)| (cores * 1000.0 / costs.of(stage).max(1e-9), stage))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, "none"))
}

/// Articles per second on one machine of `cores` shared by every process, each stage able to use at most
/// `parallel` of them (its processes times the threads each runs).
pub fn shared(costs: &Costs, cores: f64, parallel: &[(&'static str, f64)]) -> (f64, &'static str) {
    let mut best = (cores * 1000.0 / costs.total().max(1e-9), "all cores");
    for &(stage, p) in parallel {
        let rate = p.min(cores) * 1000.0 / costs.of(stage).max(1e-9);
        if rate < best.0 {
            best = (rate, stage);
        }
    }
    best
}
