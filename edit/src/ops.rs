//! The edit operations, as they are logged: one JSON object per line,
//! tagged by `"op"`, points in patient LPS mm.

use serde::{Deserialize, Serialize};

/// One edit of a label map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditOp {
    /// Every voxel whose centre lies within `radius_mm` of `center_mm` gets
    /// `class`; with `hu`, only voxels whose HU lies in `[lo, hi]`.
    Paint {
        /// Class id.
        class: u8,
        /// Centre (LPS mm).
        center_mm: [f64; 3],
        /// Radius (mm).
        radius_mm: f64,
        /// HU range the voxels must lie in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hu: Option<[i16; 2]>,
    },
    /// The same sphere set to 0.
    Erase {
        /// Centre (LPS mm).
        center_mm: [f64; 3],
        /// Radius (mm).
        radius_mm: f64,
    },
    /// The 26-connected piece of the class under `at_mm` becomes `to`. With
    /// `cut_normal`, only the part on the normal's side of the plane through
    /// `at_mm` (the distal subtree) that the point connects to.
    Relabel {
        /// A voxel of the piece (LPS mm).
        at_mm: [f64; 3],
        /// The new class (0 deletes the piece).
        to: u8,
        /// Normal of the cut plane through `at_mm`, pointing distally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cut_normal: Option<[f64; 3]>,
    },
    /// A brush stroke: voxels within `radius_mm` of the polyline
    /// `points_mm` (a sphere around a single point) get `class`, 0 erasing;
    /// with `hu`, only those in that HU range; with `normal`, only those
    /// within half a voxel of the plane through the first point with that
    /// normal (the 2D disc brush, painting in the slice shown). One stroke
    /// is one undo step.
    Stroke {
        /// Class id (0 erases).
        class: u8,
        /// The pointer's path (LPS mm), at least one point.
        points_mm: Vec<[f64; 3]>,
        /// Radius (mm).
        radius_mm: f64,
        /// HU range the voxels must lie in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hu: Option<[i16; 2]>,
        /// Normal of the slice the stroke paints in (2D disc brush).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        normal: Option<[f64; 3]>,
    },
    /// Lasso in a slice: the voxels within half a voxel of the plane of
    /// `polygon_mm` (normal `normal`, through its first point) whose centre
    /// projects inside the polygon get `class` (0 erases); with `hu`, only
    /// those in that HU range.
    Lasso {
        /// Class id (0 erases).
        class: u8,
        /// The polygon's corners (LPS mm), at least three, in the plane.
        polygon_mm: Vec<[f64; 3]>,
        /// The slice's normal.
        normal: [f64; 3],
        /// HU range the voxels must lie in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hu: Option<[i16; 2]>,
    },
    /// Scissors: every labelled voxel (of `class` only, when given) whose
    /// centre, projected along `direction`, falls inside `polygon_mm` is
    /// cleared: the polygon swept through the whole volume. With `eye_mm`
    /// (a 3D view's perspective) the projection is central from that eye
    /// onto the polygon's plane (normal `direction`), and only what lies in
    /// front of the eye is cut.
    Scissors {
        /// The polygon's corners (LPS mm), at least three.
        polygon_mm: Vec<[f64; 3]>,
        /// The direction the polygon is swept along (the view's).
        direction: [f64; 3],
        /// Only this class (none: every class).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        class: Option<u8>,
        /// The eye of a perspective view (LPS mm).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eye_mm: Option<[f64; 3]>,
    },
    /// Voxels within `radius_mm` of the segment `from_mm`–`to_mm` get
    /// `class`; with `hu`, only those in that HU range.
    Connect {
        /// Class id.
        class: u8,
        /// One end (LPS mm).
        from_mm: [f64; 3],
        /// The other end (LPS mm).
        to_mm: [f64; 3],
        /// Radius (mm).
        radius_mm: f64,
        /// HU range the voxels must lie in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hu: Option<[i16; 2]>,
    },
    /// Deletes the 26-connected pieces of `class` smaller than `min_mm3`.
    RemoveIslands {
        /// Class id.
        class: u8,
        /// Smallest piece kept (mm³).
        min_mm3: f64,
    },
    /// Deletes every 26-connected piece of `class` but the largest.
    KeepLargest {
        /// Class id.
        class: u8,
    },
    /// A branch to review was looked at (the tree stage's low-confidence
    /// branches): the decision, for the record. Changes no label (a switch
    /// or a delete follows as its own relabel) and is not an undo step.
    Review {
        /// The branch's id in the tree stage's graph.
        branch: usize,
        /// What the reviewer decided.
        decision: ReviewDecision,
        /// Where the branch is (LPS mm).
        at_mm: [f64; 3],
    },
    /// Reverts the latest op not yet reverted.
    Undo,
    /// Re-applies the latest op reverted by an undo (until a new edit).
    Redo,
}

impl EditOp {
    /// The op's name in the log.
    pub fn name(&self) -> &'static str {
        match self {
            EditOp::Paint { .. } => "paint",
            EditOp::Erase { .. } => "erase",
            EditOp::Relabel { .. } => "relabel",
            EditOp::Stroke { .. } => "stroke",
            EditOp::Lasso { .. } => "lasso",
            EditOp::Scissors { .. } => "scissors",
            EditOp::Connect { .. } => "connect",
            EditOp::RemoveIslands { .. } => "remove_islands",
            EditOp::KeepLargest { .. } => "keep_largest",
            EditOp::Review { .. } => "review",
            EditOp::Undo => "undo",
            EditOp::Redo => "redo",
        }
    }

    /// True for ops that change labels and can be undone (not undo, redo
    /// or a review record).
    pub fn is_edit(&self) -> bool {
        !matches!(self, EditOp::Undo | EditOp::Redo | EditOp::Review { .. })
    }

    /// What the op does, for an undo button ("Undo paint artery").
    pub fn describe(&self) -> String {
        let class = |c: u8| vasa_scan::ClassTable::default().name(c).to_string();
        match self {
            EditOp::Paint { class: c, .. } => format!("paint {}", class(*c)),
            EditOp::Erase { .. } => "erase".into(),
            EditOp::Relabel { to: 0, .. } => "delete a piece".into(),
            EditOp::Relabel { to, .. } => format!("relabel as {}", class(*to)),
            EditOp::Lasso { class: 0, .. } => "lasso erase".into(),
            EditOp::Lasso { class: c, .. } => format!("lasso fill {}", class(*c)),
            EditOp::Scissors { class: None, .. } => "scissors cut".into(),
            EditOp::Scissors { class: Some(c), .. } => format!("scissors cut {}", class(*c)),
            EditOp::Stroke { class: 0, .. } => "erase stroke".into(),
            EditOp::Stroke { class: c, .. } => format!("paint stroke {}", class(*c)),
            EditOp::Connect { class: c, .. } => format!("connect {}", class(*c)),
            EditOp::RemoveIslands { class: c, .. } => format!("remove {} islands", class(*c)),
            EditOp::KeepLargest { class: c, .. } => format!("keep the largest {}", class(*c)),
            EditOp::Review { decision, .. } => format!("review: {}", decision.name()),
            EditOp::Undo => "undo".into(),
            EditOp::Redo => "redo".into(),
        }
    }
}

/// What a reviewer decided about a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// The class is right.
    Accept,
    /// The branch (and what lies beyond it) is the other class.
    Switch,
    /// The branch is no vessel of its class.
    Delete,
}

impl ReviewDecision {
    /// The decision in words.
    pub fn name(self) -> &'static str {
        match self {
            ReviewDecision::Accept => "accept",
            ReviewDecision::Switch => "switch class",
            ReviewDecision::Delete => "delete",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_read_and_write_the_logged_fields() {
        let lines = [
            r#"{"op":"paint","class":1,"center_mm":[1.0,2.0,3.0],"radius_mm":2.5}"#,
            r#"{"op":"paint","class":2,"center_mm":[1.0,2.0,3.0],"radius_mm":2.5,"hu":[-100,400]}"#,
            r#"{"op":"erase","center_mm":[0.0,0.0,0.0],"radius_mm":1.0}"#,
            r#"{"op":"stroke","class":1,"points_mm":[[0.0,0.0,0.0],[1.0,0.0,0.0]],"radius_mm":2.0}"#,
            r#"{"op":"stroke","class":0,"points_mm":[[0.0,0.0,0.0]],"radius_mm":2.0,"hu":[-400,600],"normal":[0.0,0.0,1.0]}"#,
            r#"{"op":"relabel","at_mm":[4.0,5.0,6.0],"to":2}"#,
            r#"{"op":"lasso","class":2,"polygon_mm":[[0.0,0.0,1.0],[4.0,0.0,1.0],[0.0,4.0,1.0]],"normal":[0.0,0.0,1.0]}"#,
            r#"{"op":"scissors","polygon_mm":[[0.0,0.0,1.0],[4.0,0.0,1.0],[0.0,4.0,1.0]],"direction":[0.0,0.0,1.0],"class":1}"#,
            r#"{"op":"remove_islands","class":1,"min_mm3":20.0}"#,
            r#"{"op":"review","branch":17,"decision":"switch","at_mm":[1.0,2.0,3.0]}"#,
            r#"{"op":"undo"}"#,
        ];
        for line in lines {
            let op: EditOp = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&op).unwrap(), line);
        }
        assert!(serde_json::from_str::<EditOp>(r#"{"op":"paint","class":1}"#).is_err());
        assert!(serde_json::from_str::<EditOp>(r#"{"op":"fly"}"#).is_err());
        let typo = r#"{"op":"erase","center_mm":[0.0,0.0,0.0],"radius_mm":1.0,"radius":2.0}"#;
        assert!(serde_json::from_str::<EditOp>(typo).is_err(), "a misspelt field is refused, not ignored");
    }
}
