//! The great arteries: the aorta (root with its sinuses, ascending aorta,
//! arch with the brachiocephalic trunk, left common carotid and left
//! subclavian arteries running up out of the field, descending aorta
//! left-anterolateral of the spine down through the aortic hiatus) and the
//! pulmonary trunk from the pulmonary valve, anterior-left of the ascending
//! aorta, to its bifurcation; the right pulmonary artery runs behind the
//! ascending aorta and the superior vena cava, in front of the right main
//! bronchus; the left one arches over the left main bronchus.

use glam::{DMat3, DVec3};
use vasa_scan::labels::{AORTA, ARTERY};

use super::super::anatomy::{ARTERY_ID, Builder, VesselTrees};
use super::super::collide::{Kind, Seg};
use super::super::intensity::Tissue;
use super::super::shapes::Shape;
use super::super::structure::Structure;
use super::super::tree::NONE;
use super::heart::Heart;
use super::{Airways, sized, vessel};

/// Where the lung arteries attach.
pub(super) struct GreatVessels {
    /// Artery branch index of the last segment of the right and left pulmonary artery.
    pub pa_ends: [u32; 2],
    /// Offset direction (artery relative to bronchus) at the right and left hilum.
    pub pa_offsets: [DVec3; 2],
}

#[allow(clippy::too_many_lines)]
pub(super) fn great_vessels(b: &mut Builder, trees: &mut VesselTrees, h: &Heart, aw: &Airways) -> GreatVessels {
    let s = b.s;
    // --- Aorta.
    let r_asc = sized(b, 13.0, 17.0);
    let r_arch = sized(b, 11.5, r_asc - 0.5);
    let r_desc = sized(b, 10.5, (r_arch - 0.5).min(12.8));
    let arch_top = b.rng.range(30.0, 40.0);
    let pts = [
        (h.ao_valve, r_asc + 1.0),
        (b.p(-12.0, -40.0, -35.0), r_asc),
        (b.p(-14.0, -45.0, -8.0), r_asc),
        (b.p(-8.0, -42.0, arch_top - 16.0), 0.5 * (r_asc + r_arch)),
        (b.p(6.0, -32.0, arch_top), r_arch),
        (b.p(22.0, -10.0, arch_top - 2.0), r_arch),
        (b.p(27.0, 14.0, 20.0), 0.5 * (r_arch + r_desc)),
        (b.p(27.0, 38.0, 2.0), r_desc),
        (b.p(26.0, 46.0, -30.0), r_desc),
        (b.p(22.0, 47.0, -100.0), r_desc - 0.5),
        (b.p(12.0, 46.0, -170.0), r_desc - 1.0),
        (b.p(6.0, 42.0, -290.0), r_desc - 1.5),
    ];
    // Root: the three sinuses of Valsalva bulge just above the valve.
    let root_axis = (pts[1].0 - pts[0].0).normalize();
    b.part = Structure::Aorta;
    for k in 0..3 {
        let ang = k as f64 * 2.0 * std::f64::consts::PI / 3.0 + 0.4;
        let side = super::super::anatomy::frame(root_axis, DVec3::Y).transpose()
            * DVec3::new(0.0, libm::cos(ang), libm::sin(ang));
        let c = pts[0].0 + root_axis * (6.0 * s) + side * (0.35 * r_asc);
        b.add(Shape::Ellipsoid { c, inv: DMat3::IDENTITY, r: DVec3::splat(0.8 * r_asc) }, Tissue::AortaBlood, AORTA);
    }
    let mut prev = NONE;
    for (k, w) in pts.windows(2).enumerate() {
        let (p0, r0) = w[0];
        let (p1, r1) = w[1];
        prev = trees.aorta.push(prev, p0, p1, r0, 0);
        // The root and the arch stay in fat; the descending aorta lies on the spine.
        let sleeve = if k < 7 { 4.5 } else { 3.5 };
        vessel(b, Structure::Aorta, (p0, p1), (r0, r1), Tissue::AortaBlood, AORTA, sleeve, true);
    }
    // Arch branches: brachiocephalic trunk (right, from the start of the
    // arch), left common carotid and left subclavian (two at most per branch
    // of the tree).
    let r_bct = sized(b, 6.0, 7.5);
    let r_lcca = sized(b, 4.0, 5.0);
    let r_lsa = sized(b, 4.8, 6.0);
    let branches = [
        (3usize, 0.75, r_bct, vec![b.p(-10.0, -32.0, 70.0), b.p(-18.0, -26.0, 98.0), b.p(-26.0, -20.0, 170.0)]),
        (4, 0.45, r_lcca, vec![b.p(9.0, -24.0, 80.0), b.p(14.0, -20.0, 170.0)]),
        (5, 0.12, r_lsa, vec![b.p(24.0, -6.0, 80.0), b.p(46.0, -2.0, 108.0), b.p(90.0, 0.0, 120.0)]),
    ];
    for (seg, t, r, path) in branches {
        let (a0, a1) = (pts[seg].0, pts[seg + 1].0);
        let mut parent = seg as u32;
        let mut p = a0 + (a1 - a0) * t;
        for q in path {
            parent = trees.aorta.push(parent, p, q, r, 0);
            vessel(b, Structure::ArchBranch, (p, q), (r, r), Tissue::AortaBlood, AORTA, 2.5, false);
            p = q;
        }
    }

    // --- Pulmonary trunk, right and left pulmonary arteries.
    let [r_rmb, r_lmb] = aw.bronchus_radii;
    let [rmb_end, lmb_end] = aw.bronchus_ends;
    let r_trunk = sized(b, 11.2, 14.3);
    let r_rpa = sized(b, 7.6, 9.9);
    let r_lpa = sized(b, 7.6, r_rpa);
    let bif = b.jitter(DVec3::new(18.0, -20.0, -24.0) * s, 2.0);
    let t1 = trees.artery.push(NONE, h.pv_valve, b.p(22.0, -40.0, -40.0), r_trunk, 0);
    let t2 = trees.artery.push(t1, trees.artery.branches[t1 as usize].end, bif, r_trunk, 0);
    let gap = |ra: f64, rb: f64| 0.8 + 0.12 * (ra + rb);
    let off_r = DVec3::new(0.0, -1.0, -0.2).normalize();
    let off_l = DVec3::new(0.0, 0.45, 0.89).normalize();
    let rpa_end = rmb_end + off_r * (r_rmb + r_rpa + gap(r_rmb, r_rpa));
    let lpa_end = lmb_end + off_l * (r_lmb + r_lpa + gap(r_lmb, r_lpa));
    let r1 = trees.artery.push(t2, bif, b.p(2.0, -17.0, -29.0), r_rpa, 0);
    let r2 = trees.artery.push(r1, trees.artery.branches[r1 as usize].end, rpa_end, r_rpa, 0);
    let l1 = trees.artery.push(t2, bif, b.p(28.0, -10.0, -6.0), r_lpa, 0);
    let l2 = trees.artery.push(l1, trees.artery.branches[l1 as usize].end, lpa_end, r_lpa, 0);
    for i in [t1, t2, r1, r2, l1, l2] {
        let br = trees.artery.branches[i as usize].clone();
        let trunk = i == t1 || i == t2;
        let re = if i == t2 { r_trunk.min(r_rpa.max(r_lpa) * 1.25) } else { br.radius };
        b.part = if trunk { Structure::PulmonaryTrunk } else { Structure::PulmonaryArtery };
        b.tube(br.start, br.end, br.radius, re, Tissue::ArteryBlood, ARTERY, true);
        b.part = Structure::MediastinalFat;
        b.tube(br.start, br.end, br.radius + 3.0, re + 3.0, Tissue::Fat, 0, false);
        b.index.insert(Seg { a: br.start, b: br.end, r: br.radius, kind: Kind::Artery, id: ARTERY_ID + i });
        if trunk {
            b.blockers.push(Shape::Tube { a: br.start, b: br.end, ra: br.radius + 4.0, rb: re + 4.0 });
        }
    }
    GreatVessels { pa_ends: [r2, l2], pa_offsets: [off_r, off_l] }
}
