//! The plan of an evaluation: which prediction file goes with which ground truth, paired by
//! file name. Unpaired files become cases that fail with a clear message.

use crate::volume::{EXTENSIONS, format_of};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One case: a prediction, a ground truth, or the reason one of them is missing.
#[derive(Clone, Debug)]
pub struct Case {
    /// Case id: the file name without its suffix.
    pub id: String,
    pub pred: Option<PathBuf>,
    pub gt: Option<PathBuf>,
    /// Files named on the command line that do not exist.
    pub absent: Vec<PathBuf>,
}

impl Case {
    /// The message of an unpaired case, None when both files are there.
    pub fn missing(&self) -> Option<String> {
        if !self.absent.is_empty() {
            let names: Vec<String> = self.absent.iter().map(|p| p.display().to_string()).collect();
            return Some(format!("no such file: {}", names.join(", ")));
        }
        match (&self.pred, &self.gt) {
            (Some(_), Some(_)) => None,
            (None, Some(g)) => {
                Some(format!("missing pair: no prediction for ground truth {}", g.display()))
            }
            (Some(p), None) => {
                Some(format!("missing pair: no ground truth for prediction {}", p.display()))
            }
            (None, None) => Some("missing pair: neither file exists".into()),
        }
    }
}

/// The case id of a file name: without `suffix` when given (None when the name lacks it),
/// otherwise without its readable extension (None for other files).
fn case_id(name: &str, suffix: Option<&str>) -> Option<String> {
    match suffix {
        Some(s) => name
            .strip_suffix(s)
            .filter(|id| !id.is_empty() && format_of(name).is_some())
            .map(str::to_owned),
        None => EXTENSIONS
            .iter()
            .find_map(|(e, _)| name.strip_suffix(e))
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    }
}

fn list(dir: &Path, suffix: Option<&str>) -> Result<BTreeMap<String, PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot list the folder: {e}", dir.display()))?;
    let mut out = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if let Some(id) = case_id(name, suffix)
            && let Some(previous) = out.insert(id.clone(), path.clone())
        {
            return Err(format!(
                "two files give case id {id}: {} and {} (use --suffix / --gt-suffix)",
                previous.display(),
                path.display()
            ));
        }
    }
    Ok(out)
}

/// Pairs `pred` and `gt`: two files make one case; two folders are paired by case id (sorted).
pub fn plan(
    pred: &Path,
    gt: &Path,
    suffix: Option<&str>,
    gt_suffix: Option<&str>,
) -> Result<Vec<Case>, String> {
    let gt_suffix = gt_suffix.or(suffix);
    match (pred.is_dir(), gt.is_dir()) {
        (true, true) => {
            let (p, g) = (list(pred, suffix)?, list(gt, gt_suffix)?);
            if p.is_empty() && g.is_empty() {
                return Err(format!(
                    "no label volumes (.nii, .nii.gz, .npy, .npz{}) in {} or {}",
                    suffix.map(|s| format!(" ending with {s}")).unwrap_or_default(),
                    pred.display(),
                    gt.display()
                ));
            }
            let ids: std::collections::BTreeSet<&String> = p.keys().chain(g.keys()).collect();
            Ok(ids
                .into_iter()
                .map(|id| Case {
                    id: id.clone(),
                    pred: p.get(id).cloned(),
                    gt: g.get(id).cloned(),
                    absent: Vec::new(),
                })
                .collect())
        }
        (false, false) => {
            let name = pred.file_name().and_then(|n| n.to_str()).unwrap_or("case");
            let id = case_id(name, None).unwrap_or_else(|| name.to_owned());
            let exists = |p: &Path| p.is_file().then(|| p.to_path_buf());
            let absent =
                [pred, gt].iter().filter(|p| !p.is_file()).map(|p| p.to_path_buf()).collect();
            Ok(vec![Case { id, pred: exists(pred), gt: exists(gt), absent }])
        }
        _ => Err(format!(
            "{} and {} must both be files or both be folders",
            pred.display(),
            gt.display()
        )),
    }
}
