//! The Plan section of the side panel: the planning tools, the lesion's
//! diameter, the margin and path safety distance, the applicators with
//! their device setting (a prior, not a prediction), and the checks of the
//! selected one — margin, path distances per vessel class, the vessels near
//! the zone, warnings — recomputed as the plan moves.

use super::dialogs::Purpose;
use crate::doc::plan::PlanOp;
use crate::gui::VasaApp;
use crate::gui::actions::Action;
use crate::gui::tools::Tool;

/// Draws the section; pushes what the user asked for onto `actions`.
pub fn plan_panel(ui: &mut egui::Ui, app: &mut VasaApp, actions: &mut Vec<Action>) {
    let (Some(doc), Some(views)) = (&app.doc, &app.views) else { return };
    let plan = &doc.plan;
    ui.separator();
    ui.heading("Plan");
    ui.horizontal_wrapped(|ui| {
        for (tool, key) in Tool::ALL.into_iter().filter(|(t, _)| t.plans()) {
            let label = ui.selectable_label(views.mpr.tool == tool, format!("{} ({key})", tool.name()));
            if label.on_hover_text(tool.help()).clicked() {
                actions.push(Action::SetTool(tool));
            }
        }
    });
    match views.mpr.tool {
        Tool::Lesion => ui.label("click the lesion's centre"),
        Tool::Applicator if views.mpr.plan_first.is_none() => {
            ui.label("click the target, then the entry on the skin; drag an end to move it")
        }
        Tool::Applicator => ui.label("click the entry on the skin (Esc: start again)"),
        Tool::Ruler => ui.label("click both ends"),
        _ => ui.label(""),
    };
    ui.horizontal(|ui| {
        ui.label("lesion");
        if ui.radio(!plan.lesion_painted, "sphere").on_hover_text("click its centre (T), set its diameter").clicked() {
            actions.push(Action::Plan(PlanOp::LesionPainted(false)));
        }
        let painted = ui.radio(plan.lesion_painted, "painted").on_hover_text(
            "paint it with the brush as the class \"lesion\" of the shown labels: any shape; \
             the margin comes from its voxels",
        );
        if painted.clicked() {
            actions.push(Action::Plan(PlanOp::LesionPainted(true)));
            actions.push(Action::SetEditClass(vasa_scan::labels::LESION));
            actions.push(Action::SetTool(Tool::Brush));
        }
    });
    if plan.lesion_painted {
        let ml = doc
            .layers
            .shown_layer()
            .and_then(|l| l.stats.iter().find(|s| s.class == vasa_scan::labels::LESION).map(|s| s.volume_ml));
        ui.label(match ml {
            Some(ml) => format!("painted lesion: {ml:.2} mL"),
            None => "paint the lesion: brush (B), class lesion".into(),
        });
    }
    if let Some(l) = plan.lesion.filter(|_| !plan.lesion_painted) {
        let mut d = l.diameter_mm;
        ui.horizontal(|ui| {
            if ui.add(egui::Slider::new(&mut d, 2.0..=60.0).text("lesion mm")).changed() {
                actions.push(Action::Plan(PlanOp::LesionDiameter(d)));
            }
            if ui.small_button("remove").clicked() {
                actions.push(Action::Plan(PlanOp::RemoveLesion));
            }
        });
    }
    let (mut margin, mut safety) = (plan.margin_mm, plan.path_safety_mm);
    if ui.add(egui::Slider::new(&mut margin, 0.0..=15.0).text("margin mm")).changed() {
        actions.push(Action::Plan(PlanOp::Margin(margin)));
    }
    if ui.add(egui::Slider::new(&mut safety, 0.0..=15.0).text("path safety mm")).changed() {
        actions.push(Action::Plan(PlanOp::PathSafety(safety)));
    }
    for (i, a) in plan.applicators.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.selectable_label(plan.selected == Some(i), format!("applicator {}", i + 1)).clicked() {
                actions.push(Action::Plan(PlanOp::Select(i)));
            }
            let current = plan.table.entries.get(a.setting).map_or("—".to_string(), |e| e.describe());
            egui::ComboBox::from_id_salt(("setting", i)).width(150.0).truncate().selected_text(current).show_ui(
                ui,
                |ui| {
                    for (s, e) in plan.table.entries.iter().enumerate() {
                        if ui.selectable_label(s == a.setting, e.describe()).on_hover_text(&e.source).clicked() {
                            actions.push(Action::Plan(PlanOp::Setting(i, s)));
                        }
                    }
                },
            );
            if ui.small_button("remove").clicked() {
                actions.push(Action::Plan(PlanOp::RemoveApplicator(i)));
            }
        });
    }
    if !plan.applicators.is_empty() {
        ui.label(
            egui::RichText::new("zone sizes are priors: ex-vivo charts and in-vivo zones differ (Ruiter 2019)").small(),
        )
        .on_hover_text(&plan.table.note);
    }
    ui.horizontal(|ui| {
        if ui.button("Save plan…").clicked() {
            actions.push(Action::ChooseFile(Purpose::SavePlan));
        }
        if ui.button("Open plan…").clicked() {
            actions.push(Action::ChooseFile(Purpose::OpenPlan));
        }
        if doc.plan_unsaved() {
            ui.label(egui::RichText::new("not saved").small());
        }
    });
    if plan.selected.is_some() {
        let mut open = views.path_views.open;
        if ui.checkbox(&mut open, "probe's-eye and along-the-path views").changed() {
            actions.push(Action::ShowPathViews(open));
        }
    }
    if plan.applicators.len() > 1
        && let Some((m, at)) = views.plan_checks.combined
    {
        ui.horizontal(|ui| {
            let covered = m >= plan.margin_mm;
            let text = format!(
                "all {} applicators together: margin {m:.1} mm ({})",
                plan.applicators.len(),
                if covered { "covered" } else { "not covered" }
            );
            let colour = if covered { ui.visuals().text_color() } else { ui.visuals().warn_fg_color };
            ui.label(egui::RichText::new(text).color(colour));
            if ui.small_button("go to").on_hover_text("where the combined margin is smallest").clicked() {
                actions.push(Action::GoTo(at.to_array()));
            }
        });
    }
    if !plan.rulers.is_empty() {
        ui.horizontal(|ui| {
            let lengths: Vec<String> = plan.rulers.iter().map(|r| format!("{:.1}", r.length_mm())).collect();
            ui.label(format!("rulers: {} mm", lengths.join(", ")));
            if ui.small_button("clear").clicked() {
                actions.push(Action::Plan(PlanOp::ClearRulers));
            }
        });
    }
    // The selected applicator's checks.
    let Some(i) = plan.selected else { return };
    let checks = &views.plan_checks;
    let shown = doc.layers.shown_layer().map_or((0, 0), |l| (l.id, l.revision()));
    if doc.layers.shown_layer().is_none() {
        ui.label("show a label layer (extract the vessels) to check the plan");
        return;
    }
    if !checks.current(plan, shown) {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("checking…");
        });
    }
    match checks.reports.get(i) {
        Some(Ok(r)) => {
            let colour = if r.covered { ui.visuals().text_color() } else { ui.visuals().warn_fg_color };
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(format!(
                        "margin {:.1} mm ({})",
                        r.margin_mm,
                        if r.covered { "covered" } else { "not covered" }
                    ))
                    .color(colour),
                );
                if ui.small_button("go to").on_hover_text("where the margin is smallest").clicked() {
                    actions.push(Action::GoTo(r.margin_at_mm));
                }
            });
            let d = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1}"));
            ui.label(format!(
                "path to artery {} · vein {} · aorta {} mm",
                d(r.trajectory.artery),
                d(r.trajectory.vein),
                d(r.trajectory.aorta)
            ));
            egui::Grid::new("plan vessels").striped(true).show(ui, |ui| {
                ui.label("vessel");
                ui.label("distance");
                ui.label("diameter");
                ui.end_row();
                for v in r.vessels.iter().take(8) {
                    ui.label(if v.heat_sink { format!("{} (heat sink)", v.class) } else { v.class.clone() });
                    ui.monospace(format!("{:6.1} mm", v.distance_mm));
                    ui.monospace(format!("{:5.1} mm", v.diameter_mm));
                    if ui.small_button("go to").clicked() {
                        actions.push(Action::GoTo(v.at_mm));
                    }
                    ui.end_row();
                }
            });
            let warn = ui.visuals().warn_fg_color;
            for w in &r.warnings {
                ui.label(egui::RichText::new(format!("warning: {w}")).color(warn));
            }
        }
        Some(Err(e)) => {
            ui.label(egui::RichText::new(e).color(ui.visuals().error_fg_color));
        }
        None => {}
    }
}
