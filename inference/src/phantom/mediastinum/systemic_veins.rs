//! Systemic veins (class "heart and venae cavae" in `labels.nii.gz`): the
//! internal jugular veins coming down the neck, the short vertical right
//! brachiocephalic vein and the long oblique left one crossing in front of
//! the arch branches, the superior vena cava right of the ascending aorta
//! down into the right atrium, the azygos vein up along the right front of
//! the spine and arching over the right main bronchus into the back of the
//! superior vena cava, and the inferior vena cava up through the diaphragm
//! into the right atrium.

use glam::DVec3;

use super::super::HEART;
use super::super::anatomy::Builder;
use super::super::intensity::Tissue;
use super::super::structure::Structure;
use super::heart::Heart;
use super::{Airways, vessel};

/// Runs `vessel` along a polyline of constant radius.
fn chain(b: &mut Builder, part: Structure, pts: &[DVec3], r: f64, sleeve: f64, block: bool) {
    for w in pts.windows(2) {
        vessel(b, part, (w[0], w[1]), (r, r), Tissue::RightHeartBlood, HEART, sleeve, block);
    }
}

pub(super) fn systemic_veins(b: &mut Builder, h: &Heart, aw: &Airways) {
    let s = b.s;
    let r_svc = b.rng.range(8.0, 10.5) * s;
    // Superior vena cava from the junction of the brachiocephalic veins
    // (behind the first right costal cartilage) down into the right atrium.
    let junction = b.jitter(DVec3::new(-29.0, -37.0, 46.0) * s, 2.0);
    let svc = [junction, b.p(-35.0, -33.0, 10.0), b.p(-38.0, -27.0, -20.0), h.ra_top];
    chain(b, Structure::SuperiorVenaCava, &svc, r_svc, 5.0, true);

    // Brachiocephalic veins: the right one short and vertical, the left one
    // long and oblique in front of the arch branches, behind the manubrium.
    let r_bcv = b.rng.range(5.5, 7.0) * s;
    let r_angle = b.p(-30.0, -34.0, 84.0);
    chain(b, Structure::BrachiocephalicVein, &[r_angle, junction], r_bcv, 3.0, true);
    let l_angle = b.p(38.0, -26.0, 86.0);
    let cross = b.jitter(DVec3::new(6.0, -50.0, 62.0) * s, 2.0);
    chain(
        b,
        Structure::BrachiocephalicVein,
        &[l_angle, b.p(24.0, -44.0, 74.0), cross, junction],
        r_bcv * 0.9,
        3.0,
        true,
    );

    // Internal jugular veins down the neck to the venous angles.
    let r_ijv = b.rng.range(5.0, 7.0) * s;
    chain(b, Structure::NeckVein, &[b.p(-34.0, -18.0, 170.0), b.p(-34.0, -26.0, 110.0), r_angle], r_ijv, 2.0, false);
    chain(
        b,
        Structure::NeckVein,
        &[b.p(36.0, -14.0, 170.0), b.p(37.0, -20.0, 110.0), l_angle],
        r_ijv * 0.9,
        2.0,
        false,
    );

    // Azygos: up along the right front of the spine, arching forward over
    // the right main bronchus into the back of the superior vena cava.
    let r_az = b.rng.range(3.0, 4.5) * s;
    let rmb_end = aw.bronchus_ends[0];
    let over = aw.r_trachea + 6.0 * s;
    let svc_back = b.p(-35.0, -33.0, 10.0) + DVec3::new(0.0, r_svc * 0.3, -4.0 * s);
    let az = [
        b.p(-8.0, 46.0, -180.0),
        b.p(-10.0, 44.0, -60.0),
        b.p(-13.0, 38.0, -4.0),
        DVec3::new(-over - 6.0 * s, 20.0 * s, 8.0 * s),
        DVec3::new(rmb_end.x.min(-over) - 10.0 * s, 0.0, 12.0 * s),
        svc_back,
    ];
    chain(b, Structure::Azygos, &az, r_az, 2.0, true);

    // Inferior vena cava through the diaphragm (and the liver) into the right atrium.
    let r_ivc = b.rng.range(10.5, 13.0) * s;
    chain(
        b,
        Structure::InferiorVenaCava,
        &[b.p(-22.0, 12.0, -280.0), b.p(-24.0, 2.0, -150.0), h.ra_bottom],
        r_ivc,
        0.0,
        false,
    );
}
