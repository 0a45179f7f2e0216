//! The warm-up ramps of the blend weight.

use dice_core::{Ramp, RampKind};

#[test]
fn ends_and_midpoints() {
    let lin = Ramp { kind: RampKind::Linear, start: 0.2, end: 1.0, steps: 10 };
    let cos = Ramp { kind: RampKind::Cosine, ..lin };
    assert_eq!(lin.at(0).unwrap(), 0.2);
    assert!((lin.at(5).unwrap() - 0.6).abs() < 1e-15);
    assert_eq!(lin.at(10).unwrap(), 1.0);
    assert_eq!(lin.at(1000).unwrap(), 1.0);
    assert!((cos.at(0).unwrap() - 0.2).abs() < 1e-15);
    assert!((cos.at(5).unwrap() - 0.6).abs() < 1e-15); // symmetric about the midpoint
    assert!(cos.at(2).unwrap() < lin.at(2).unwrap()); // slow start
    assert!((cos.at(10).unwrap() - 1.0).abs() < 1e-15);
    let none = Ramp { kind: RampKind::Constant, ..lin };
    assert_eq!(none.at(0).unwrap(), 1.0);
    assert!(Ramp { start: f64::NAN, ..lin }.at(1).is_err());
}

#[test]
fn monotone() {
    for kind in [RampKind::Linear, RampKind::Cosine] {
        let r = Ramp { kind, start: 1.0, end: 0.0, steps: 37 };
        let w: Vec<f64> = (0..40).map(|s| r.at(s).unwrap()).collect();
        assert!(w.windows(2).all(|p| p[1] <= p[0]), "{kind:?}");
    }
}
