//! Invokes one container and measures each invocation from outside: its
//! latency (emulator), the process's CPU time (/proc), and the DynamoDB
//! (proxy) and GitHub (simulator) requests it caused.

use std::collections::BTreeMap;
use std::time::Duration;

use github_sim::Counter;
use serde_json::Value;

use crate::container::{Container, Launch};
use crate::events::answer;
use crate::infra::Infra;

#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub latency: Duration,
    pub cpu: Duration,
    pub dynamo: u64,
    pub github: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Route {
    pub name: String,
    pub samples: Vec<Sample>,
    /// DynamoDB (and Secrets Manager) requests by operation, over all samples.
    pub ops: BTreeMap<String, u64>,
}

impl Route {
    fn percentile(&self, p: f64) -> Duration {
        let mut l: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        l.sort();
        let i = ((l.len() as f64 - 1.0) * p).round() as usize;
        l.get(i).copied().unwrap_or_default()
    }
    pub fn p50(&self) -> Duration {
        self.percentile(0.50)
    }
    pub fn p99(&self) -> Duration {
        self.percentile(0.99)
    }
    fn mean(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        self.samples.iter().map(f).sum::<f64>() / self.samples.len().max(1) as f64
    }
    pub fn cpu_us(&self) -> f64 {
        self.mean(|s| s.cpu.as_secs_f64() * 1e6)
    }
    pub fn dynamo(&self) -> f64 {
        self.mean(|s| s.dynamo as f64)
    }
    pub fn github(&self) -> f64 {
        self.mean(|s| s.github as f64)
    }
}

#[derive(Debug, Clone)]
pub struct FunctionRun {
    pub function: &'static str,
    pub init: Duration,
    pub first_route: String,
    /// The first invocation (Node's includes its secret fetch and lazy set-up).
    pub first: Sample,
    pub routes: Vec<Route>,
    pub peak_rss_kib: u64,
    /// Every warm invocation's CPU, over their count.
    pub warm_cpu_us: f64,
    /// The system (kernel) part of the process's CPU over its whole life.
    pub system_share: f64,
}

pub struct Driver<'a> {
    infra: &'a Infra,
    pub container: Container,
    function: &'static str,
    init: Duration,
    first: Option<(String, Sample)>,
    routes: Vec<Route>,
}

/// Cold starts per function: init and the first invocation are single
/// events, so their median over several fresh processes is reported.
const COLD_STARTS: usize = 5;

impl<'a> Driver<'a> {
    /// Starts the function `COLD_STARTS` times, each time in a fresh process
    /// answering `first_event` as its first invocation; keeps the last.
    pub async fn start(
        infra: &'a Infra,
        function: &'static str,
        launch: &Launch,
        first_route: &str,
        first_event: Value,
    ) -> Driver<'a> {
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        for n in 0..COLD_STARTS {
            let container = Container::start(function, launch)
                .await
                .unwrap_or_else(|e| panic!("{function}: {e}"));
            let mut d = Driver {
                infra,
                init: container.init,
                container,
                function,
                first: None,
                routes: Vec::new(),
            };
            d.call(Some(first_route), first_event.clone()).await;
            inits.push(d.init);
            firsts.push(d.first.take().expect("recorded").1);
            if n + 1 == COLD_STARTS {
                inits.sort();
                firsts.sort_by_key(|s| s.latency);
                d.init = inits[COLD_STARTS / 2];
                d.first = Some((first_route.to_owned(), firsts[COLD_STARTS / 2]));
                return d;
            }
            d.container.stop().await;
        }
        unreachable!("COLD_STARTS > 0")
    }

    fn dynamo_counts(&self) -> BTreeMap<String, u64> {
        self.infra.proxy.counts()
    }

    /// Invokes, checks the status is 2xx, records the sample under `route`
    /// (`None`: set-up, not recorded) and returns the body.
    pub async fn call(&mut self, route: Option<&str>, event: Value) -> Value {
        let before_ops = self.dynamo_counts();
        let before_gh = self.infra.sim.count(Counter::Requests);
        let before_cpu = self.container.cpu();
        let invocation = self.container.invoke(event).await;
        let cpu = self.container.cpu().saturating_sub(before_cpu);
        let github = (self.infra.sim.count(Counter::Requests) - before_gh) as u64;
        let after_ops = self.dynamo_counts();
        let (status, body) = answer(&invocation.response);
        assert!(
            (200..300).contains(&status),
            "{} {:?}: status {status}: {body}",
            self.function,
            route
        );
        let mut ops = BTreeMap::new();
        for (op, n) in &after_ops {
            let d = n - before_ops.get(op).copied().unwrap_or(0);
            if d > 0 {
                ops.insert(op.clone(), d);
            }
        }
        let sample = Sample {
            latency: invocation.timing.handler(),
            cpu,
            dynamo: ops.values().sum(),
            github,
        };
        let Some(route) = route else { return body };
        if self.first.is_none() {
            self.first = Some((route.to_owned(), sample));
            return body;
        }
        let entry = match self.routes.iter_mut().position(|r| r.name == route) {
            Some(i) => &mut self.routes[i],
            None => {
                self.routes.push(Route {
                    name: route.to_owned(),
                    ..Route::default()
                });
                self.routes.last_mut().unwrap()
            }
        };
        entry.samples.push(sample);
        for (op, n) in ops {
            *entry.ops.entry(op).or_default() += n;
        }
        body
    }

    pub async fn finish(self) -> FunctionRun {
        let peak_rss_kib = self.container.peak_rss_kib();
        let (first_route, first) = self.first.expect("one invocation at least");
        let all: Vec<&Sample> = self.routes.iter().flat_map(|r| &r.samples).collect();
        let warm_cpu_us = all.iter().map(|s| s.cpu.as_secs_f64() * 1e6).sum::<f64>() / all.len().max(1) as f64;
        let (user, system) = self.container.cpu_split();
        let system_share = system.as_secs_f64() / (user + system).as_secs_f64().max(1e-9);
        let run = FunctionRun {
            system_share,
            function: self.function,
            init: self.init,
            first_route,
            first,
            routes: self.routes,
            peak_rss_kib,
            warm_cpu_us,
        };
        self.container.stop().await;
        run
    }
}
