//! Scenario parsing: the shipped files are valid, and a bad field is an error naming it.

use super::*;

#[test]
fn every_shipped_scenario_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        names.push(scenario.name().to_string());
    }
    names.sort();
    let expected = ["default", "feed-spike", "flash-sale", "price-storm", "prime-day", "psp-outage"];
    assert_eq!(names, expected);
    assert_eq!(Scenario::default_scenario().name(), "default");
}

#[test]
fn an_unknown_field_is_named_with_the_file() {
    let text = DEFAULT_TOML.replace("[mix]\n", "[mix]\nchekout = 3\n");
    let error = Scenario::parse(&text, "my.toml", "my").unwrap_err().to_string();
    assert!(error.contains("my.toml") && error.contains("chekout"), "{error}");

    let text = DEFAULT_TOML.replace("duration_s = 60", "duration_s = 60\nspeed = 2");
    let error = Scenario::parse(&text, "my.toml", "my").unwrap_err().to_string();
    assert!(error.contains("speed"), "{error}");
}

#[test]
fn a_drill_with_an_unknown_field_or_kind_is_refused() {
    let drill = "\n[[drills]]\nkind = \"psp_outage\"\nat_s = 1\nfor_s = 2\npsp = 0\nbogus = 1\n";
    let error = Scenario::parse(&format!("{DEFAULT_TOML}{drill}"), "d.toml", "d").unwrap_err();
    assert!(error.to_string().contains("bogus"), "{error}");
    let drill = "\n[[drills]]\nkind = \"meteor\"\nat_s = 1\nfor_s = 2\n";
    let error = Scenario::parse(&format!("{DEFAULT_TOML}{drill}"), "d.toml", "d").unwrap_err();
    assert!(error.to_string().contains("meteor"), "{error}");
}

#[test]
fn values_out_of_bounds_are_refused_naming_the_field() {
    for (from, to, field) in [
        ("duration_s = 60", "duration_s = 0", "duration_s"),
        ("rate_per_s = 80", "rate_per_s = -1", "arrival.rate_per_s"),
        ("products = 300", "products = 0", "catalogue.products"),
        ("stale_share = 0.1", "stale_share = 1.5", "feeds.stale_share"),
        ("from_s = 35", "from_s = 95", "flash_sale.from_s"),
        ("availability = 0.9999", "availability = 2", "slo.availability"),
    ] {
        let text = DEFAULT_TOML.replace(from, to);
        assert_ne!(text, DEFAULT_TOML, "{from}");
        let error = Scenario::parse(&text, "x.toml", "x").unwrap_err().to_string();
        assert!(error.contains(field), "{field}: {error}");
    }
    let zero_mix = "name = \"z\"\nduration_s = 1\n[catalogue]\nproducts = 1\nsellers = 1\n\
        customers = 1\n[arrival]\nprofile = \"constant\"\nrate_per_s = 1\n[mix]\n";
    let error = Scenario::parse(zero_mix, "z.toml", "z").unwrap_err().to_string();
    assert!(error.contains("mix"), "{error}");
}

#[test]
fn drills_out_of_order_are_refused() {
    let drills = "\n[[drills]]\nkind = \"auth_only\"\nat_s = 20\nfor_s = 2\n\
        [[drills]]\nkind = \"auth_only\"\nat_s = 10\nfor_s = 2\n";
    let error = Scenario::parse(&format!("{DEFAULT_TOML}{drills}"), "o.toml", "o").unwrap_err();
    assert!(error.to_string().contains("drills[1]"), "{error}");
}
