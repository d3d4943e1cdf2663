//! Named anatomical structures: the fine label map (`anatomy.nii.gz`) gives
//! every voxel the structure whose surface contains its centre, so tests can
//! check each structure and training can use any of them as a target.
//!
//! The coarse training classes (`labels.nii.gz`: artery, vein, aorta, airway,
//! heart) are a separate map; [`Structure::class`] says which class a
//! structure belongs to where it has one.

use vasa_scan::labels::{AORTA, ARTERY, VEIN};

use super::{AIRWAY, HEART};

macro_rules! structures {
    ($($(#[doc = $doc:literal])* $name:ident = $id:literal, $key:literal;)*) => {
        /// One anatomical structure of the phantom; the discriminant is its
        /// value in `anatomy.nii.gz` (0 is air outside the body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Structure {
            $($(#[doc = $doc])* $name = $id,)*
        }

        impl Structure {
            /// Every structure, in label order.
            pub const ALL: &'static [Structure] = &[$(Structure::$name),*];

            /// Snake-case name, as written to `anatomy.json`.
            pub fn name(self) -> &'static str {
                match self { $(Structure::$name => $key,)* }
            }
        }
    };
}

structures! {
    /// Air outside the body (and anything unassigned).
    Outside = 0, "outside";
    /// Skin.
    Skin = 1, "skin";
    /// Subcutaneous fat.
    SubcutaneousFat = 2, "subcutaneous_fat";
    /// Breast glandular tissue.
    Breast = 3, "breast";
    /// Pectoralis major and minor.
    Pectoral = 4, "pectoral_muscle";
    /// Intercostal and other chest-wall muscle.
    ChestWallMuscle = 5, "chest_wall_muscle";
    /// Erector spinae and the other paraspinal muscles.
    Paraspinal = 6, "paraspinal_muscle";
    /// Trapezius, deltoid, latissimus and the other shoulder-girdle muscles.
    ShoulderMuscle = 7, "shoulder_muscle";
    /// The arms' soft tissue.
    Arm = 8, "arm";
    /// Fat between muscles (fat planes).
    IntermuscularFat = 9, "intermuscular_fat";
    /// The scanner table.
    Table = 10, "table";
    /// Vertebrae (body, pedicles, laminae, processes).
    Vertebra = 11, "vertebra";
    /// Intervertebral discs.
    Disc = 12, "intervertebral_disc";
    /// The spinal canal and its contents.
    SpinalCanal = 13, "spinal_canal";
    /// Ribs (cortex and marrow).
    Rib = 14, "rib";
    /// Costal cartilage.
    CostalCartilage = 15, "costal_cartilage";
    /// Sternum (manubrium and body).
    Sternum = 16, "sternum";
    /// Clavicles.
    Clavicle = 17, "clavicle";
    /// Scapulae.
    Scapula = 18, "scapula";
    /// Humeri (heads and shafts).
    Humerus = 19, "humerus";
    /// Right lung parenchyma.
    LungRight = 20, "lung_right";
    /// Left lung parenchyma.
    LungLeft = 21, "lung_left";
    /// Trachea (wall and lumen).
    Trachea = 22, "trachea";
    /// Bronchi (wall and lumen).
    Bronchus = 23, "bronchus";
    /// Lung nodules.
    Nodule = 24, "nodule";
    /// Atelectasis (collapsed dependent lung).
    Atelectasis = 25, "atelectasis";
    /// Pleural effusion.
    Effusion = 26, "pleural_effusion";
    /// Pulmonary trunk (from the pulmonary valve to the bifurcation).
    PulmonaryTrunk = 30, "pulmonary_trunk";
    /// Pulmonary arteries (right, left and intrapulmonary).
    PulmonaryArtery = 31, "pulmonary_artery";
    /// Pulmonary veins.
    PulmonaryVein = 32, "pulmonary_vein";
    /// Left atrium.
    LeftAtrium = 33, "left_atrium";
    /// Aorta: root, ascending, arch, descending.
    Aorta = 34, "aorta";
    /// Brachiocephalic trunk, left common carotid and left subclavian arteries.
    ArchBranch = 35, "aortic_arch_branch";
    /// Superior vena cava.
    SuperiorVenaCava = 36, "superior_vena_cava";
    /// Brachiocephalic and subclavian veins.
    BrachiocephalicVein = 37, "brachiocephalic_vein";
    /// Azygos vein and its arch.
    Azygos = 38, "azygos_vein";
    /// Inferior vena cava.
    InferiorVenaCava = 39, "inferior_vena_cava";
    /// Right atrium.
    RightAtrium = 40, "right_atrium";
    /// Right ventricle and its outflow tract.
    RightVentricle = 41, "right_ventricle";
    /// Left ventricle.
    LeftVentricle = 42, "left_ventricle";
    /// Myocardium (ventricular and atrial walls).
    Myocardium = 43, "myocardium";
    /// Pericardial and epicardial fat.
    PericardialFat = 44, "pericardial_fat";
    /// Mediastinal fat.
    MediastinalFat = 45, "mediastinal_fat";
    /// Oesophagus (wall and any air in it).
    Oesophagus = 46, "oesophagus";
    /// Thymic remnant in the anterior mediastinum.
    Thymus = 47, "thymus";
    /// Mediastinal and hilar lymph nodes.
    LymphNode = 48, "lymph_node";
    /// Liver.
    Liver = 50, "liver";
    /// Stomach (wall, contents, gas).
    Stomach = 51, "stomach";
    /// Spleen.
    Spleen = 52, "spleen";
    /// Other abdominal soft tissue below the diaphragm.
    Abdomen = 53, "abdomen";
    /// Thyroid gland.
    Thyroid = 54, "thyroid";
    /// Jugular and other neck veins.
    NeckVein = 55, "neck_vein";
}

impl Structure {
    /// The structure whose value is `v`, if any.
    pub fn from_u8(v: u8) -> Option<Structure> {
        Structure::ALL.iter().copied().find(|s| *s as u8 == v)
    }

    /// The coarse training class this structure belongs to in `labels.nii.gz`
    /// (0 for none).
    pub fn class(self) -> u8 {
        match self {
            Structure::PulmonaryTrunk | Structure::PulmonaryArtery => ARTERY,
            Structure::PulmonaryVein | Structure::LeftAtrium => VEIN,
            Structure::Aorta | Structure::ArchBranch => AORTA,
            Structure::Trachea | Structure::Bronchus => AIRWAY,
            Structure::RightAtrium
            | Structure::RightVentricle
            | Structure::LeftVentricle
            | Structure::Myocardium
            | Structure::SuperiorVenaCava
            | Structure::InferiorVenaCava
            | Structure::BrachiocephalicVein
            | Structure::Azygos
            | Structure::NeckVein => HEART,
            _ => 0,
        }
    }

    /// `anatomy.json` without per-phantom facts: every structure's value,
    /// name and coarse class.
    pub fn table_json() -> String {
        Self::table_json_with(serde_json::Value::Null)
    }

    /// `anatomy.json`: every structure's value, name and coarse class, and
    /// `phantom` (seed, acquisition, findings) when not null.
    pub fn table_json_with(phantom: serde_json::Value) -> String {
        let structures: Vec<serde_json::Value> = Structure::ALL
            .iter()
            .map(|s| serde_json::json!({"value": *s as u8, "name": s.name(), "class": s.class()}))
            .collect();
        let mut doc = serde_json::json!({
            "description": "Vasa chest phantom: one value per anatomical structure (anatomy.nii.gz); class is the value in labels.nii.gz (1 artery, 2 vein, 3 aorta, 4 airway, 5 heart and venae cavae, 0 none)",
            "structures": structures,
        });
        if !phantom.is_null() {
            doc["phantom"] = phantom;
        }
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names_are_unique_and_round_trip() {
        let mut names = std::collections::HashSet::new();
        for &s in Structure::ALL {
            assert_eq!(Structure::from_u8(s as u8), Some(s));
            assert!(names.insert(s.name()), "duplicate name {}", s.name());
        }
        assert_eq!(Structure::from_u8(255), None);
        let json: serde_json::Value = serde_json::from_str(&Structure::table_json()).unwrap();
        assert_eq!(json["structures"].as_array().unwrap().len(), Structure::ALL.len());
    }
}
