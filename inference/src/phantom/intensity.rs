//! CT numbers of every tissue for one seed and contrast phase, drawn within
//! the adult ranges of ANATOMY.md.

use super::Phase;
use super::rng::Rng;

/// What a painted layer is made of; its CT number comes from [`Intensities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Tissue {
    /// Mediastinal and pericardial fat.
    Fat,
    /// Oesophagus, thymus remnant and other mediastinal soft tissue.
    Soft,
    /// Thyroid gland: iodine makes it 60–80 HU plain; it enhances strongly.
    Thyroid,
    /// Liver (below the right hemidiaphragm).
    Liver,
    /// Gas in the stomach.
    Gas,
    /// Cortical bone.
    Cortex,
    /// Trabecular bone.
    Marrow,
    /// Costal cartilage and intervertebral discs.
    Cartilage,
    /// Spinal canal contents.
    Canal,
    /// Heart wall.
    Myocardium,
    /// Right atrium, right ventricle, superior and inferior vena cava.
    RightHeartBlood,
    /// Left ventricle.
    LeftVentricleBlood,
    /// Left atrium (labelled vein).
    LeftAtriumBlood,
    /// Aorta and its branches.
    AortaBlood,
    /// Pulmonary arteries.
    ArteryBlood,
    /// Pulmonary veins.
    VeinBlood,
    /// Bronchial wall.
    AirwayWall,
    /// Air inside the airways.
    AirwayLumen,
    /// Undiluted contrast medium in the injected arm's veins (1000–2500 HU in
    /// the enhanced phases that have it, blood otherwise).
    DenseContrast,
}

/// Number of [`Tissue`] kinds.
pub const TISSUES: usize = Tissue::DenseContrast as usize + 1;

/// CT numbers (HU) for one phantom.
#[derive(Debug, Clone, PartialEq)]
pub struct Intensities {
    /// Air outside the body and in the airways.
    pub air: f32,
    /// Mean lung parenchyma.
    pub lung: f32,
    /// Amplitude of the low-frequency lung texture.
    pub lung_texture: f32,
    /// Extra density of the dependent (posterior) lung.
    pub lung_dependent: f32,
    /// Skin.
    pub skin: f32,
    /// Subcutaneous fat.
    pub subcutaneous_fat: f32,
    /// Chest-wall and back muscle.
    pub muscle: f32,
    /// Abdominal soft tissue below the diaphragm (besides the liver).
    pub abdomen: f32,
    /// Per-tissue values, indexed by [`Tissue`] as `u8`.
    pub tissue: [f32; TISSUES],
    /// Standard deviation of the image noise (HU), drawn per seed; the
    /// acquisition may set another.
    pub noise_sigma: f32,
    /// Per-seed scale of the scanner's point spread (about 1).
    pub blur_scale: f32,
    /// Depth of the inflow of unopacified blood into the right heart and
    /// venae cavae: the largest share of the enhancement it removes (0 in the
    /// plain phase).
    pub inflow: f32,
    /// Whether the injected arm's brachiocephalic vein and the top of the
    /// superior vena cava hold dense contrast ([`Tissue::DenseContrast`]),
    /// with beam-hardening streaks.
    pub dense_vein: bool,
    /// Peak amplitude of those streaks next to the dense vessel (HU).
    pub streak_hu: f32,
}

impl Intensities {
    /// CT number of a painted tissue.
    #[inline]
    pub fn of(&self, t: Tissue) -> f32 {
        self.tissue[t as usize]
    }

    /// Draws the intensities for `phase` from `rng`.
    pub fn draw(phase: Phase, rng: &mut Rng) -> Self {
        let mut r = |lo: f64, hi: f64| rng.range(lo, hi) as f32;
        let blood = r(32.0, 53.0);
        let muscle = r(38.0, 55.0);
        let fat = r(-110.0, -85.0);
        let liver_plain = r(52.0, 66.0);
        let (pa, right, la, lv, aorta, pv, myo, liver, muscle_e) = match phase {
            Phase::Plain => {
                let mut j = || blood + r(-2.0, 2.0);
                (j(), j(), j(), j(), j(), j(), muscle, liver_plain, muscle)
            }
            Phase::Ctpa => {
                // CT pulmonary angiography: the bolus is in the right heart and
                // pulmonary arteries; the left heart, veins and aorta lag behind.
                let pa = r(260.0, 490.0);
                let left = r(150.0, (pa - 60.0).min(300.0) as f64);
                (
                    pa,
                    pa + r(-20.0, 60.0),
                    left + r(-10.0, 10.0),
                    left + r(-5.0, 15.0),
                    left + r(-10.0, 20.0),
                    left + r(-10.0, 10.0),
                    r(85.0, 130.0),
                    liver_plain + r(5.0, 20.0),
                    muscle + r(5.0, 15.0),
                )
            }
            Phase::Arterial => {
                // Systemic arterial phase: the left heart and aorta are brightest;
                // the pulmonary arteries anywhere from washed out (150 HU) to
                // nearly as bright, as in routine contrast chest CT timed between
                // the two (lidc-0001: PA ≈ 310, aorta ≈ 410 HU). A network that
                // only saw PA ≤ 245 HU here called such a trunk vein.
                let aorta = r(230.0, 430.0);
                let pa = r(150.0, (aorta - 30.0).min(380.0) as f64);
                (
                    pa,
                    pa + r(-10.0, 20.0),
                    aorta + r(-20.0, 5.0),
                    aorta + r(-15.0, 5.0),
                    aorta,
                    aorta + r(-25.0, 0.0),
                    r(100.0, 150.0),
                    liver_plain + r(30.0, 60.0),
                    muscle + r(10.0, 25.0),
                )
            }
            Phase::Venous => {
                // Portal-venous phase: the contrast has recirculated; every
                // blood pool is 120–200 HU and about equal, the myocardium and
                // liver are enhanced.
                let base = r(130.0, 185.0);
                let mut j = |a: f64| base + r(-a, a);
                (
                    j(10.0),
                    j(12.0),
                    j(10.0),
                    j(10.0),
                    j(10.0),
                    j(10.0),
                    r(100.0, 140.0),
                    liver_plain + r(45.0, 75.0),
                    muscle + r(15.0, 30.0),
                )
            }
        };
        let mut tissue = [0f32; TISSUES];
        tissue[Tissue::Fat as usize] = fat + r(-5.0, 5.0);
        tissue[Tissue::Soft as usize] = muscle_e - r(0.0, 10.0);
        tissue[Tissue::Liver as usize] = liver;
        tissue[Tissue::Gas as usize] = -1000.0;
        tissue[Tissue::Cortex as usize] = r(750.0, 1250.0);
        tissue[Tissue::Marrow as usize] = r(160.0, 320.0);
        tissue[Tissue::Cartilage as usize] = r(80.0, 130.0);
        tissue[Tissue::Canal as usize] = r(10.0, 30.0);
        tissue[Tissue::Myocardium as usize] = myo;
        tissue[Tissue::RightHeartBlood as usize] = right;
        tissue[Tissue::LeftVentricleBlood as usize] = lv;
        tissue[Tissue::LeftAtriumBlood as usize] = la;
        tissue[Tissue::AortaBlood as usize] = aorta;
        tissue[Tissue::ArteryBlood as usize] = pa;
        tissue[Tissue::VeinBlood as usize] = pv;
        tissue[Tissue::AirwayWall as usize] = muscle_e + r(-10.0, 10.0);
        tissue[Tissue::AirwayLumen as usize] = r(-1000.0, -980.0);
        // Undiluted contrast in the arm vein while the bolus is still being
        // injected (CTPA and arterial phases, about half the scans).
        let dense_vein = matches!(phase, Phase::Ctpa | Phase::Arterial) && r(0.0, 1.0) < 0.5;
        tissue[Tissue::DenseContrast as usize] = if dense_vein { r(1000.0, 2500.0) } else { right };
        let inflow = if phase == Phase::Plain { 0.0 } else { r(0.3, 0.7) };
        let streak_hu = if dense_vein { r(100.0, 200.0) } else { 0.0 };
        let mut ints = Intensities {
            air: -1000.0,
            lung: r(-875.0, -835.0),
            lung_texture: r(10.0, 25.0),
            lung_dependent: r(20.0, 55.0),
            skin: muscle_e + r(-5.0, 10.0),
            subcutaneous_fat: fat,
            muscle: muscle_e,
            abdomen: muscle_e - r(5.0, 15.0),
            tissue,
            noise_sigma: r(10.0, 40.0),
            blur_scale: r(0.85, 1.15),
            inflow,
            dense_vein,
            streak_hu,
        };
        // Drawn last so the other values stay as they were for a seed.
        let thyroid_plain = r(60.0, 80.0);
        ints.tissue[Tissue::Thyroid as usize] = match phase {
            Phase::Plain => thyroid_plain,
            Phase::Venous => thyroid_plain + r(50.0, 110.0),
            _ => thyroid_plain + r(40.0, 100.0),
        };
        ints
    }
}
