//! Property tests: voxel ↔ world transforms are exact inverses for any valid
//! geometry, and the NIfTI writer/reader preserves any geometry.

use glam::{DMat3, DVec3, EulerRot};
use proptest::prelude::*;
use vasa_scan::{Geometry, Volume, nifti};

fn geometry() -> impl Strategy<Value = Geometry> {
    (
        (0.1f64..5.0, 0.1f64..5.0, 0.1f64..8.0),
        (-500.0f64..500.0, -500.0f64..500.0, -1500.0f64..500.0),
        (-3.2f64..3.2, -1.5f64..1.5, -3.2f64..3.2),
        any::<bool>(),
    )
        .prop_map(|(s, o, (a, b, c), flip)| {
            let r = DMat3::from_euler(EulerRot::ZYX, a, b, c);
            let direction = if flip { DMat3::from_cols(r.col(0), r.col(1), -r.col(2)) } else { r };
            Geometry { spacing: DVec3::new(s.0, s.1, s.2), origin: DVec3::new(o.0, o.1, o.2), direction }
        })
}

proptest! {
    #[test]
    fn voxel_world_round_trip(g in geometry(), i in -10.0f64..600.0, j in -10.0f64..600.0, k in -10.0f64..900.0) {
        prop_assert!(g.validate().is_ok());
        let p = DVec3::new(i, j, k);
        let w = g.voxel_to_world(p);
        let back = g.world_to_voxel(w);
        prop_assert!((back - p).abs().max_element() < 1e-9, "{p} -> {w} -> {back}");
        // The 4×4 matrix agrees with the direct formula.
        let m = g.voxel_to_world_matrix().transform_point3(p);
        prop_assert!((m - w).abs().max_element() < 1e-9);
        // Neighbouring voxels are exactly one spacing apart along each axis.
        for a in 0..3 {
            let mut q = p;
            q[a] += 1.0;
            let d = (g.voxel_to_world(q) - w).length();
            prop_assert!((d - g.spacing[a]).abs() < 1e-9);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn nifti_preserves_any_geometry(g in geometry(), gz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if gz { "g.nii.gz" } else { "g.nii" });
        let v = Volume::from_vec([3, 4, 5], (0..60).map(|x| x as i16).collect(), g).unwrap();
        nifti::write_nifti(&path, &v).unwrap();
        let back = nifti::read_ct(&path).unwrap();
        // f32 storage: positions agree to ~1e-4 mm over the volume.
        for c in [[0usize, 0, 0], [2, 3, 4], [2, 0, 4]] {
            let d = (back.voxel_to_world(c) - v.voxel_to_world(c)).abs().max_element();
            prop_assert!(d < 1e-3, "corner {c:?} moved by {d} mm");
        }
        prop_assert_eq!(back.data(), v.data());
    }
}
