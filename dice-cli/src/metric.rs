//! Metric names, their order in the outputs, and the targets (labels and regions) they score.

/// A metric the `eval` command reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    Dice,
    Iou,
    Precision,
    Recall,
    Specificity,
    VolumeSimilarity,
    Hd,
    Hd95,
    Assd,
    Asd,
    Nsd,
    BoundaryF,
    Tp,
    Fp,
    Fn,
    Tn,
    NPred,
    NRef,
    VolPred,
    VolRef,
}

/// Every metric in output order, with its column name.
pub const ALL: [(Metric, &str); 20] = [
    (Metric::Dice, "dice"),
    (Metric::Iou, "iou"),
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
    (Metric::Specificity, "specificity"),
    (Metric::VolumeSimilarity, "vs"),
    (Metric::Hd, "hd"),
    (Metric::Hd95, "hd95"),
    (Metric::Assd, "assd"),
    (Metric::Asd, "asd"),
    (Metric::Nsd, "nsd"),
    (Metric::BoundaryF, "bf"),
    (Metric::Tp, "tp"),
    (Metric::Fp, "fp"),
    (Metric::Fn, "fn"),
    (Metric::Tn, "tn"),
    (Metric::NPred, "n_pred"),
    (Metric::NRef, "n_ref"),
    (Metric::VolPred, "vol_pred"),
    (Metric::VolRef, "vol_ref"),
];

/// Which direction is better, for the summary's worst case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Counts and volumes: no better direction.
    Neither,
}

impl Metric {
    pub fn name(self) -> &'static str {
        ALL.iter().find(|(m, _)| *m == self).map(|(_, n)| *n).unwrap_or("?")
    }

    pub fn better(self) -> Better {
        use Metric::*;
        match self {
            Dice | Iou | Precision | Recall | Specificity | VolumeSimilarity | Nsd | BoundaryF => {
                Better::Higher
            }
            Hd | Hd95 | Assd | Asd => Better::Lower,
            _ => Better::Neither,
        }
    }

    /// Metrics computed from surfaces (edge voxels or surfels).
    pub fn is_surface(self) -> bool {
        matches!(
            self,
            Metric::Hd
                | Metric::Hd95
                | Metric::Assd
                | Metric::Asd
                | Metric::Nsd
                | Metric::BoundaryF
        )
    }

    /// Ground-truth based scores, to which the empty ground-truth policy applies.
    pub fn uses_gt(self) -> bool {
        matches!(self, Metric::Dice | Metric::Iou | Metric::Recall) || self.is_surface()
    }
}

/// Parses `--metrics` (names or aliases; "all" for every metric; "counts" for tp..tn and
/// the volumes), keeping the output order and dropping repeats.
pub fn parse_metrics(names: Option<&[String]>) -> Result<Vec<Metric>, String> {
    let Some(names) = names else { return Ok(ALL.iter().map(|(m, _)| *m).collect()) };
    let mut chosen = Vec::new();
    for raw in names {
        let n = raw.trim().to_ascii_lowercase();
        let found: Vec<Metric> = match n.as_str() {
            "all" => ALL.iter().map(|(m, _)| *m).collect(),
            "jaccard" => vec![Metric::Iou],
            "sensitivity" | "tpr" => vec![Metric::Recall],
            "volume_similarity" | "volume-similarity" => vec![Metric::VolumeSimilarity],
            "hausdorff" => vec![Metric::Hd],
            "surface_dice" | "surface-dice" => vec![Metric::Nsd],
            "boundary_f" | "boundary-f" | "bfscore" => vec![Metric::BoundaryF],
            "counts" => vec![Metric::Tp, Metric::Fp, Metric::Fn, Metric::Tn],
            "volumes" => vec![Metric::NPred, Metric::NRef, Metric::VolPred, Metric::VolRef],
            other => match ALL.iter().find(|(_, name)| *name == other) {
                Some((m, _)) => vec![*m],
                None => {
                    let known: Vec<&str> = ALL.iter().map(|(_, n)| *n).collect();
                    return Err(format!(
                        "unknown metric {raw:?}; known: {}, all, counts, volumes",
                        known.join(", ")
                    ));
                }
            },
        };
        chosen.extend(found);
    }
    Ok(ALL.iter().map(|(m, _)| *m).filter(|m| chosen.contains(m)).collect())
}

/// What one row scores: a label, or a region (the union of several labels).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// The labels in the mask, sorted.
    pub labels: Vec<u16>,
}

impl Target {
    pub fn label(l: u16) -> Self {
        Target { labels: vec![l] }
    }

    /// "2" for a label, "1+2+3" for a region.
    pub fn name(&self) -> String {
        self.labels.iter().map(u16::to_string).collect::<Vec<_>>().join("+")
    }

    pub fn is_region(&self) -> bool {
        self.labels.len() > 1
    }
}

/// Parses `--regions` entries such as "1,2,3" (also "1+2+3").
pub fn parse_regions(raw: &[String]) -> Result<Vec<Target>, String> {
    raw.iter()
        .map(|r| {
            let mut labels = r
                .split([',', '+'])
                .map(|x| {
                    x.trim()
                        .parse::<u16>()
                        .map_err(|_| format!("--regions: {r:?} is not a list of labels like 1,2"))
                })
                .collect::<Result<Vec<u16>, String>>()?;
            labels.sort_unstable();
            labels.dedup();
            if labels.contains(&0) {
                return Err(format!("--regions: {r:?} includes the background label 0"));
            }
            Ok(Target { labels })
        })
        .collect()
}
