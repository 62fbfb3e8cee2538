//! Cost: what each started cell costs by stage, and what scrap throws away.
//!
//! A cell that enters a stage is charged that stage's material and conversion; a cell scrapped at
//! a stage has cost everything up to and including it. Cost per good cell spreads the whole spend
//! over the cells that pass.

use super::Stage;
use crate::scene::Scene;
use serde::Serialize;

/// What one stage spent and lost in scrap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageCost {
    /// The station.
    pub stage: Stage,
    /// Material bought in at this stage, USD per cell that enters it (learning factor applied).
    pub material_per_cell_usd: f64,
    /// Conversion (labour, energy, depreciation), USD per cell that enters it.
    pub conversion_per_cell_usd: f64,
    /// Cells that entered the stage.
    pub entered: u64,
    /// USD spent at the stage (entered × (material + conversion)).
    pub spend_usd: f64,
    /// USD lost in cells scrapped at this stage (everything spent on them so far).
    pub scrap_loss_usd: f64,
}

/// The run's spend, per stage and per good cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostSummary {
    /// Each station in line order.
    pub stages: Vec<StageCost>,
    /// Total spend of the run, USD.
    pub total_usd: f64,
    /// Spend per started cell (what a cell costs if nothing were scrapped is the sum of the stages).
    pub per_started_cell_usd: f64,
    /// Total spend over the cells that passed, USD.
    pub per_good_cell_usd: f64,
    /// Spend per good cell over its rated energy, USD/kWh.
    pub per_kwh_good_usd: f64,
    /// Fraction of the spend lost in scrap.
    pub scrap_share: f64,
    /// The learning-curve factor applied to every stage cost (1 at the reference volume).
    pub learning_factor: f64,
}

/// `entered[s]` and `scrapped[s]`: cells that entered and were scrapped at each stage, in line order.
pub fn cost_summary(
    scene: &Scene,
    entered: &[u64; 6],
    scrapped: &[u64; 6],
    good: u64,
) -> CostSummary {
    let f = scene.cost.learning_factor();
    let per = scene.cost.per_stage().map(|(m, c)| (m * f, c * f));
    let mut cumulative = 0.0;
    let mut total = 0.0;
    let mut scrap_loss = 0.0;
    let stages = Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, &stage)| {
            let unit = per[i].0 + per[i].1;
            cumulative += unit;
            let spend = entered[i] as f64 * unit;
            let loss = scrapped[i] as f64 * cumulative;
            total += spend;
            scrap_loss += loss;
            StageCost {
                stage,
                material_per_cell_usd: per[i].0,
                conversion_per_cell_usd: per[i].1,
                entered: entered[i],
                spend_usd: spend,
                scrap_loss_usd: loss,
            }
        })
        .collect();
    let started = entered[0].max(1) as f64;
    let per_good = if good > 0 {
        total / good as f64
    } else {
        f64::INFINITY
    };
    CostSummary {
        stages,
        total_usd: total,
        per_started_cell_usd: total / started,
        per_good_cell_usd: per_good,
        per_kwh_good_usd: per_good / scene.cell_kwh(),
        scrap_share: if total > 0.0 { scrap_loss / total } else { 0.0 },
        learning_factor: f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::{Chemistry, Scene};

    /// With no scrap, a good cell costs the sum of the stage costs; scrap at the last stage raises
    /// it by 1/yield.
    #[test]
    fn cost_follows_yield() {
        let s = Scene::preset(Chemistry::Nmc21700);
        let unit: f64 = s.cost.per_stage().iter().map(|(m, c)| m + c).sum();
        let c = cost_summary(&s, &[100; 6], &[0; 6], 100);
        assert!((c.per_good_cell_usd - unit).abs() < 1e-12);
        let c = cost_summary(&s, &[100; 6], &[0, 0, 0, 0, 0, 20], 80);
        assert!((c.per_good_cell_usd - unit / 0.8).abs() < 1e-12);
        assert!((c.scrap_share - 0.2).abs() < 1e-12);
    }

    /// The scene's cost keys name the model's stations in the model's order.
    #[test]
    fn cost_keys_follow_the_stations() {
        let keys: Vec<&str> = Stage::ALL.iter().map(|s| s.key()).collect();
        assert_eq!(keys, crate::scene::Cost::STAGE_KEYS);
    }

    /// Wright's law: doubling the cumulative volume twice at an 18 % learning rate leaves
    /// 0.82² = 67.24 % of the cost; halving it raises the cost by 1/0.82.
    #[test]
    fn cost_falls_18_percent_per_doubling() {
        let mut s = Scene::preset(Chemistry::Nmc21700);
        let base = cost_summary(&s, &[100; 6], &[0; 6], 100).per_good_cell_usd;
        s.cost.cumulative_gwh = 4.0 * s.cost.reference_gwh;
        let later = cost_summary(&s, &[100; 6], &[0; 6], 100).per_good_cell_usd;
        assert!((later / base - 0.6724).abs() < 1e-9, "{}", later / base);
        s.cost.cumulative_gwh = 0.5 * s.cost.reference_gwh;
        let earlier = cost_summary(&s, &[100; 6], &[0; 6], 100).per_good_cell_usd;
        assert!((earlier / base - 1.0 / 0.82).abs() < 1e-9);
    }
}
