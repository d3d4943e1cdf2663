//! Label maps and the table of classes they use.

use serde::{Deserialize, Serialize};

use crate::volume::Volume;

/// A label map: one class id per voxel, on the grid of the scan it belongs to.
pub type LabelMap = Volume<u8>;

/// Class id of background.
pub const BACKGROUND: u8 = 0;
/// Class id of the pulmonary arteries.
pub const ARTERY: u8 = 1;
/// Class id of the pulmonary veins.
pub const VEIN: u8 = 2;
/// Class id of the aorta.
pub const AORTA: u8 = 3;
/// Class id of a lesion painted for planning (never a network output).
pub const LESION: u8 = 4;

/// One class of a label map: its id, a display name and an sRGB colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassInfo {
    /// Value stored in the label map.
    pub id: u8,
    /// Name shown to the user.
    pub name: String,
    /// Display colour (sRGB).
    pub color: [u8; 3],
}

/// The classes a label map uses. Defaults follow DESIGN.md:
/// `0 background, 1 artery, 2 vein, 3 aorta`, and 4 a lesion painted for
/// planning; user classes take 5 and up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTable {
    /// Classes in id order.
    pub classes: Vec<ClassInfo>,
}

impl Default for ClassTable {
    fn default() -> Self {
        let c = |id, name: &str, color| ClassInfo { id, name: name.to_string(), color };
        ClassTable {
            classes: vec![
                c(BACKGROUND, "background", [0, 0, 0]),
                c(ARTERY, "artery", [220, 50, 47]),
                c(VEIN, "vein", [38, 139, 210]),
                c(AORTA, "aorta", [230, 150, 30]),
                c(LESION, "lesion", [255, 120, 200]),
            ],
        }
    }
}

impl ClassTable {
    /// The class with `id`, if the table has it.
    pub fn get(&self, id: u8) -> Option<&ClassInfo> {
        self.classes.iter().find(|c| c.id == id)
    }

    /// Name of class `id`, or `"class N"` for an id the table lacks.
    pub fn name(&self, id: u8) -> String {
        self.get(id).map(|c| c.name.clone()).unwrap_or_else(|| format!("class {id}"))
    }

    /// Adds a user class with the next free id (5 and up); `None` when all 256 are used.
    pub fn add(&mut self, name: &str, color: [u8; 3]) -> Option<u8> {
        let id = (5..=255u8).find(|id| self.get(*id).is_none())?;
        self.classes.push(ClassInfo { id, name: name.to_string(), color });
        self.classes.sort_by_key(|c| c.id);
        Some(id)
    }
}

/// Number of voxels of each class id (index = id).
pub fn class_counts(labels: &LabelMap) -> [u64; 256] {
    use rayon::prelude::*;
    labels
        .data()
        .par_chunks(1 << 18)
        .map(|c| {
            let mut h = [0u64; 256];
            for &v in c {
                h[v as usize] += 1;
            }
            h
        })
        .reduce(
            || [0u64; 256],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_user_classes() {
        let mut t = ClassTable::default();
        assert_eq!(t.name(ARTERY), "artery");
        assert_eq!(t.name(AORTA), "aorta");
        assert_eq!(t.name(LESION), "lesion");
        assert_eq!(t.add("airway", [0, 255, 255]), Some(5));
        assert_eq!(t.add("fissure", [0, 255, 0]), Some(6));
        assert_eq!(t.name(9), "class 9");
    }
}
