"""Training (issue 5): data, batches, per-stage parameters, losses, Trainer runs, resume, bundles."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from transformers import TrainerCallback

import love_plugins
from love_plugins.cli import main as cli_main
from love_plugins.modeling import LoveProcessor
from love_plugins.modeling.tiny import build_tiny_model
from love_plugins.scorer import PACKAGED_MODELS
from love_plugins.synth import level_word
from love_plugins.training import (
    LoveCollator,
    LoveDataset,
    LoveForTraining,
    TrainConfig,
    VideoCache,
    evaluation_metrics,
    level_word_for,
    load_records,
    read_training_info,
    train,
    trainable_parameter_names,
)

NANO = PACKAGED_MODELS["love-nano"]


def _fast(**overrides) -> dict:
    """Small-run settings: no checkpointing recomputation, quick logging."""
    base = dict(per_device_train_batch_size=4, per_device_eval_batch_size=16, gradient_checkpointing=False,
                logging_steps=1, save_total_limit=None)
    base.update(overrides)
    return base


def test_level_words_share_the_suite_bins():
    for mos in [0, 5, 19.99, 20, 39.9, 40, 59.99, 60, 79.9, 80, 99, 100]:
        assert level_word_for(mos) == level_word(mos)


def test_meta_json_and_manifest_give_the_same_records(suite):
    for task in ("perception", "correspondence", "qa"):
        for split in ("train", "test"):
            a = load_records(suite / f"meta_{task}.json", task, split)
            b = load_records(suite / "manifest.jsonl", task, split)
            c = load_records(suite / "manifest.csv", task, split)
            key = [(r.video, r.mos, r.answer, r.question if task == "qa" else None,
                    r.prompt if task == "correspondence" else None) for r in a]
            assert key == [(r.video, r.mos, r.answer, r.question if task == "qa" else None,
                            r.prompt if task == "correspondence" else None) for r in b]
            assert len(b) == len(c)
            assert a, (task, split)


def test_each_stage_trains_only_its_parameters():
    model, _ = build_tiny_model(randomize_adapters=False)
    s1 = trainable_parameter_names(model, "stage1", "perception")
    assert s1 and all(n.split(".")[:2] in (["projectors", "perception"], ["motion_projectors", "perception"])
                      for n in s1)
    s2 = trainable_parameter_names(model, "stage2", "correspondence")
    assert any(n.startswith("score_heads.correspondence") for n in s2)
    lora = [n for n in s2 if "lora_" in n]
    assert any("vision_tower" in n for n in lora) and any("language_model" in n for n in lora)
    assert all(".correspondence." in n for n in lora)
    assert not any(n.startswith("projectors") or n.startswith("motion_projectors") for n in s2)
    qa = trainable_parameter_names(model, "qa", "qa")
    assert qa and all("lora_" in n and ".qa." in n for n in qa)
    for stage, task in [("stage1", "qa"), ("stage2", "perception"), ("qa", "qa")]:
        assert not any(n.startswith("motion_encoder") for n in trainable_parameter_names(model, stage, task))


def _batch_parts(suite, cache_dir, task, n=4):
    model, tokenizer = build_tiny_model(seed=3)
    processor = LoveProcessor(tokenizer, model.config)
    records = load_records(suite, task, "train")
    # pick samples whose prompts have different lengths, so the batch really is padded
    records = sorted(records, key=lambda r: len(r.prompt or r.question or ""))
    records = [records[0], records[-1], records[len(records) // 2], records[1]][:n]
    dataset = LoveDataset(records, VideoCache(model.config.sampler_config, cache_dir))
    return model, processor, dataset, LoveCollator(processor)


@pytest.mark.parametrize("task,stage", [("correspondence", "stage2"), ("correspondence", "stage1"), ("qa", "qa")])
def test_padded_batch_gives_the_same_loss_as_single_samples(suite, cache_dir, task, stage):
    model, processor, dataset, collate = _batch_parts(suite, cache_dir, task)
    wrapper = LoveForTraining(model, processor, stage, task).eval()  # eval: no LoRA dropout
    items = [dataset[i] for i in range(len(dataset))]
    batch = collate(items)
    lengths = batch["attention_mask"].sum(1)
    assert lengths.min() < lengths.max(), "the test needs a padded batch"
    with torch.no_grad():
        padded = wrapper(**batch)
        singles = [wrapper(**collate([it])) for it in items]
    logits = torch.cat([s["logits"] for s in singles])
    assert torch.allclose(padded["logits"], logits, atol=1e-5, equal_nan=True)
    if stage == "stage2":  # L1: mean over samples
        expected = torch.stack([s["loss"] for s in singles]).mean()
    else:  # next-token loss: mean over answer tokens
        tokens = torch.tensor([(collate([it])["labels"][:, 1:] != -100).sum() for it in items], dtype=torch.float)
        expected = (torch.stack([s["loss"] for s in singles]) * tokens).sum() / tokens.sum()
    assert padded["loss"].item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("workers", [0, 1])
def test_decoding_into_the_cache_leaves_the_global_rng_alone(suite, tmp_path, workers):
    """A run that decodes its videos must train exactly as a rerun that finds them cached."""
    videos = [r.video for r in load_records(suite / "manifest.jsonl", "perception", "train")[:3]]
    sampler = build_tiny_model()[0].config.sampler_config
    state = torch.get_rng_state()
    VideoCache(sampler, tmp_path, num_workers=workers).load(videos)
    assert torch.equal(torch.get_rng_state(), state)
    VideoCache(sampler, tmp_path).load(videos)  # now from disk
    assert torch.equal(torch.get_rng_state(), state)


def test_evaluation_metrics_shapes():
    preds = torch.tensor([[0.1, 0.2, float("nan")], [0.5, 0.4, float("nan")], [0.9, 0.8, float("nan")],
                          [float("nan"), 0.3, 0.9], [float("nan"), 0.3, 0.2]]).numpy()
    targets = torch.tensor([0.2, 0.5, 0.8, 1.0, 1.0]).numpy()
    task_ids = torch.tensor([0, 0, 0, 2, 2]).numpy()
    m = evaluation_metrics(preds, targets, task_ids, "stage2")
    assert m["perception_srcc"] == pytest.approx(1.0) and m["qa_accuracy"] == pytest.approx(0.5)
    assert m["combined"] == pytest.approx(0.75)


class _Interrupt(TrainerCallback):
    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt("simulated interruption")


def test_resume_continues_from_the_saved_step(suite, cache_dir, tmp_path):
    out = tmp_path / "resume"
    common = dict(task="qa", stage="qa", data=str(suite), output_dir=str(out), cache_dir=str(cache_dir),
                  max_steps=6, eval_strategy="no", save_steps=2, learning_rate=1e-3, model="tiny-random",
                  **_fast())
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**common), callbacks=[_Interrupt(at_step=3)])
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-2"]
    info = train(TrainConfig(**common, resume="auto"))
    run = info["history"][-1]
    assert run["resumed_from"].endswith("checkpoint-2")
    assert run["global_step"] == 6
    logged_steps = [e["step"] for e in run["log_history"] if "loss" in e]
    # steps 1-2 come from the checkpoint's state, 3-6 from the resumed run: nothing was redone
    assert logged_steps == [1, 2, 3, 4, 5, 6]


def test_stage1_then_stage2_then_load_and_score(suite, cache_dir, tmp_path):
    s1, s2, qa = tmp_path / "s1", tmp_path / "s2", tmp_path / "qa"
    common = dict(data=str(suite / "manifest.jsonl"), cache_dir=str(cache_dir), max_steps=2, learning_rate=1e-3,
                  **_fast())
    train(TrainConfig(task="correspondence", stage="1", output_dir=str(s1), model="tiny-random", **common))
    before = love_plugins.load(s1, device="cpu").model.state_dict()
    rc = cli_main(["train", "--task", "correspondence", "--stage", "2", "--data",
                   str(suite / "meta_correspondence.json"), "-o", str(s2), "--model", str(s1), "--max-steps", "2",
                   "--lr", "1e-3", "--no-gradient-checkpointing", "--cache-dir", str(cache_dir)])
    assert rc == 0
    train(TrainConfig(task="qa", stage="2", output_dir=str(qa), model=str(s2), **common))
    scorer = love_plugins.load(qa, device="cpu")
    after = scorer.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("score_heads.correspondence") or ".correspondence." in k or ".qa." in k
                           for k in changed)
    rows = [json.loads(line) for line in (suite / "manifest.jsonl").read_text().splitlines()][:3]
    results = scorer.score([str(suite / r["video"]) for r in rows], prompts=[r["prompt"] for r in rows],
                           questions=[r["question"] for r in rows], tasks=("correspondence", "qa"))
    assert all(r.ok and r.correspondence is not None and r.qa_answer in ("yes", "no") for r in results)
    history = read_training_info(qa)["history"]
    assert [(h["task"], h["stage"]) for h in history] == [
        ("correspondence", "stage1"), ("correspondence", "stage2"), ("qa", "qa")]
    assert history[-1]["config"]["learning_rate"] == 1e-3 and "final_eval" in history[-1]


def test_checkpointing_argument_name_follows_the_installed_transformers():
    """transformers >= 5.18 calls it activation_checkpointing, older releases gradient_checkpointing."""

    from transformers import TrainingArguments

    from love_plugins.training.trainer import _checkpointing_arguments

    @dataclasses.dataclass
    class OldArguments:
        gradient_checkpointing: bool = False
        gradient_checkpointing_kwargs: dict | None = None

    assert _checkpointing_arguments(OldArguments, True) == {
        "gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}
    current = _checkpointing_arguments(TrainingArguments, False)
    assert set(current) <= set(TrainingArguments.__dataclass_fields__)
    assert False in current.values()




# `love-eval train` with LOVE's three stages on the tiny configuration, pinned by the code as it was before
# love-nano's pre-training moved out of love_plugins.training (issue 44): the losses of each step and the sum of
# |w| over every tensor of the bundle each stage writes.
PINNED_LOVE_STAGES = {
    "1": ([6.575502395629883, 6.541184902191162, 6.561347961425781], 10205.52121471499),
    "2": ([0.7276706099510193, 0.6095482110977173, 0.8249121904373169], 10209.687275292681),
    "qa": ([6.36667537689209, 6.399129390716553, 6.381961822509766], 10216.716635542745),
}


def test_love_stages_train_as_they_did_before_the_pretraining_moved_out(suite, cache_dir, tmp_path):
    from safetensors.torch import load_file

    previous = "tiny-random"
    for (task, stage), (losses, weights) in zip([("perception", "1"), ("perception", "2"), ("qa", "qa")],
                                                PINNED_LOVE_STAGES.values()):
        out = tmp_path / f"{task}{stage}"
        assert cli_main(["train", "--task", task, "--stage", stage, "--data", str(suite / "manifest.jsonl"),
                         "-o", str(out), "--model", previous, "--max-steps", "3", "--lr", "1e-3",
                         "--no-gradient-checkpointing", "--batch-size", "4", "--cache-dir", str(cache_dir),
                         "--logging-steps", "1", "--eval-strategy", "no", "--seed", "42"]) == 0
        run = read_training_info(out)["history"][-1]
        assert [e["loss"] for e in run["log_history"] if "loss" in e] == pytest.approx(losses, rel=1e-5)
        tensors = load_file(str(out / "model.safetensors"))
        assert float(sum(t.double().abs().sum() for t in tensors.values())) == pytest.approx(weights, rel=1e-7)
        assert run["stage_options"] == {}  # LOVE's stages have none: their settings are TrainConfig's
        previous = str(out)


def test_the_training_package_knows_only_loves_stages_until_a_package_registers_more():
    """`love_plugins.training` imports no stage but LOVE's; love-nano's are found through the
    `love_plugins.training_stages` entry point the first time a stage name is not LOVE's."""
    import subprocess
    import sys

    script = ("import sys; import love_plugins.training as t; from love_plugins.cli import main;"
              "before = 'love_plugins.nano' in sys.modules; stages = t.registered_stages();"
              "cfg = t.TrainConfig(task='perception', stage='motion', data='x', output_dir='y');"
              "print(before, stages, cfg.stage, 'love_plugins.nano' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False ('stage1', 'stage2', 'qa') motion True"
    with pytest.raises(ValueError, match="unknown stage '7'; LOVE's are 1, 2 and qa"):
        TrainConfig(task="perception", stage="7", data="x", output_dir="y")


def test_a_stage_from_another_package_plugs_in_through_the_registry(suite, cache_dir, tmp_path):
    """The extension point, driven as another package would: a `Stage` with an option of its own, a module that
    adds a loss term, a collator that adds a batch field; `train` runs it and records its options."""
    from dataclasses import dataclass

    from love_plugins.training import LoveCollator, LoveForTraining, Stage, register_stage

    @dataclass
    class HeadOnly(Stage):  # the perception score head alone, pulled towards a batch field's value
        name = "head_only"
        score_loss = True
        pull: float = 0.5

        def trainable_parameter_names(self, model, task):
            return [n for n, _ in model.named_parameters() if n.startswith(f"score_heads.{task}.")]

        def build_module(self, cfg, model, processor, train_set, eval_set):
            return Pulled(model, processor, self, cfg.task)

        def collator(self, module, processor):
            return WithCentre(processor)

    class WithCentre(LoveCollator):
        def extra_fields(self, items, rows):
            return {"centre": torch.full((len(items),), 0.25)}

    class Pulled(LoveForTraining):
        def losses(self, out, score, targets, task_ids, target_positions, motion_features, extra):
            terms = super().losses(out, score, targets, task_ids, target_positions, motion_features, extra)
            return terms + [self.spec.pull * (score - extra["centre"]).pow(2).mean()]

    register_stage("head_only", HeadOnly)
    with pytest.raises(ValueError, match="stage 'head_only': .*unexpected keyword argument 'push'"):
        TrainConfig(task="perception", stage="head_only", data="x", output_dir="y", stage_options={"push": 1})
    with pytest.raises(ValueError, match="shadow one of LOVE's stages"):
        register_stage("stage2", HeadOnly)

    model, tokenizer = build_tiny_model(seed=0, randomize_adapters=False)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = TrainConfig(task="perception", stage="head_only", data=str(suite / "manifest.jsonl"),
                      output_dir=str(tmp_path / "head"), cache_dir=str(cache_dir), max_steps=2, learning_rate=1e-2,
                      stage_options={"pull": 2.0}, **_fast())
    info = train(cfg, model=model, tokenizer=tokenizer)
    run = info["history"][-1]
    assert run["stage"] == "head_only" and run["stage_options"] == {"pull": 2.0}
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("score_heads.perception.") for n in changed)

    # its loss is LOVE's L1 plus the added term on the added field
    processor = LoveProcessor(tokenizer, model.config)
    module = cfg.training_stage().build_module(cfg, model, processor, None, None).eval()
    dataset = LoveDataset(load_records(suite, "perception", "train")[:4], VideoCache(model.config.sampler_config,
                                                                                     cache_dir))
    batch = WithCentre(processor)([dataset[i] for i in range(4)])
    with torch.no_grad():
        got = module(**batch)
        score = got["logits"][:, 0]
        expected = (score - batch["targets"]).abs().mean() + 2.0 * (score - 0.25).pow(2).mean()
    torch.testing.assert_close(got["loss"], expected)
