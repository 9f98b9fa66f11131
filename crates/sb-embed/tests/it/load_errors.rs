//! Loading failures must name the problem and, for a missing model, say how to fetch it.

use sb_embed::{Embedder, Error};

use crate::support::{tiny_config_json, tiny_model_dir, tiny_weights};

#[test]
fn each_missing_file_is_named_with_the_fix() {
    for file_name in sb_embed::MODEL_FILES {
        let (_temp, model_dir) = tiny_model_dir(1);
        std::fs::remove_file(model_dir.join(file_name)).unwrap();
        let error = Embedder::load(&model_dir).unwrap_err();
        match &error {
            Error::MissingFile { path } => assert_eq!(path, &model_dir.join(file_name)),
            other => panic!("expected MissingFile for {file_name}, got {other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(file_name), "{message}");
        assert!(message.contains("run scripts/fetch-model.sh"), "{message}");
    }
}

#[test]
fn empty_folder_reports_the_first_file() {
    let temp = tempfile::tempdir().unwrap();
    let error = Embedder::load(temp.path()).unwrap_err();
    assert!(error.to_string().contains("config.json"), "{error}");
}

#[test]
fn malformed_config_is_a_config_error() {
    let (_temp, model_dir) = tiny_model_dir(1);
    std::fs::write(model_dir.join("config.json"), "{ not json").unwrap();
    assert!(matches!(
        Embedder::load(&model_dir),
        Err(Error::Config { .. })
    ));

    let mut config = tiny_config_json();
    config["hidden_act"] = "relu".into();
    std::fs::write(model_dir.join("config.json"), config.to_string()).unwrap();
    let error = Embedder::load(&model_dir).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    assert!(error.to_string().contains("relu"), "{error}");
}

#[test]
fn missing_tensor_is_named() {
    let (_temp, model_dir) = tiny_model_dir(1);
    let mut weights = tiny_weights(1);
    weights.remove("encoder.layer.1.output.dense.weight");
    candle_core::safetensors::save(&weights, model_dir.join("model.safetensors")).unwrap();
    let error = Embedder::load(&model_dir).unwrap_err();
    assert!(matches!(error, Error::Weights { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("encoder.layer.1.output.dense.weight"),
        "{error}"
    );
}

#[test]
fn corrupt_weights_and_tokenizer_are_errors_not_panics() {
    let (_temp, model_dir) = tiny_model_dir(1);
    std::fs::write(
        model_dir.join("model.safetensors"),
        b"definitely not safetensors",
    )
    .unwrap();
    assert!(matches!(
        Embedder::load(&model_dir),
        Err(Error::Weights { .. })
    ));

    let (_temp2, model_dir2) = tiny_model_dir(1);
    std::fs::write(model_dir2.join("tokenizer.json"), "{}").unwrap();
    assert!(matches!(
        Embedder::load(&model_dir2),
        Err(Error::Tokenizer { .. })
    ));
}

#[test]
fn tokenizer_larger_than_model_vocabulary_is_refused() {
    let (_temp, model_dir) = tiny_model_dir(1);
    let mut config = tiny_config_json();
    config["vocab_size"] = 10.into();
    std::fs::write(model_dir.join("config.json"), config.to_string()).unwrap();
    let error = Embedder::load(&model_dir).unwrap_err();
    assert!(matches!(error, Error::Tokenizer { .. }), "{error:?}");
}
