"""`--model hf_video_ll`: any transformers video LMM, for the likelihood protocol (`*_ll` tasks) and generation.

    lmms_eval --tasks aigve60k_ll --model hf_video_ll \
        --model_args pretrained=Qwen/Qwen2.5-VL-7B-Instruct,device=cuda,dtype=bfloat16

lmms-eval 0.7.3 has no model class that scores continuations on a *video* with a transformers-native LMM:
`qwen2_5_vl` raises NotImplementedError for loglikelihood, `llava_hf` hands the video path to an image
processor, and the classes that implement it on video (llava_onevision, llava_vid, longva, ...) need their
authors' own repositories. This class loads a checkpoint with `AutoModelForImageTextToText` and
`AutoProcessor` (no remote code unless `trust_remote_code=true` is given), shows it `num_frames` frames of the
video at LOVE's segment-centre indices through the processor's chat template, and

- `loglikelihood`: the sum of the log-probabilities of the continuation's tokens after the prompt (the user
  turn with the video and the question, then the assistant header), and whether each was the greedy token;
- `generate_until`: greedy generation, stopped at the `until` strings.

model_args: pretrained (folder or hub id; required), device (default cuda when available), dtype (default
bfloat16 on GPU, float32 on CPU), num_frames (default 8), trust_remote_code (default false).
"""

from __future__ import annotations

import logging

import torch
from lmms_eval.api.model import lmms
from lmms_eval.utils import simple_parse_args_string

from integrations.lmms_eval.answers import FAILURE_PREFIX

logger = logging.getLogger(__name__)


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class HFVideoLL(lmms):
    """A transformers video LMM behind lmms-eval's simple-model interface (see the module docstring)."""

    is_simple = True

    def __init__(self, pretrained: str | None = None, device: str | None = None, dtype: str | None = None,
                 num_frames=8, trust_remote_code=False, **kwargs) -> None:
        super().__init__()
        if not pretrained:
            raise ValueError("hf_video_ll: model_args pretrained=<folder or hub id> is required")
        unknown = sorted(k for k in kwargs if k not in ("batch_size", "max_batch_size", "device_map"))
        if unknown:
            logger.warning("hf_video_ll: ignoring unknown model_args %s", unknown)
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from love_plugins.scorer import default_device, default_dtype

        self._device = torch.device(device) if device else default_device()
        self.num_frames = int(num_frames)
        if self.num_frames < 1:
            raise ValueError(f"hf_video_ll: num_frames must be >= 1, got {num_frames!r}")
        remote = _flag(trust_remote_code)
        self.processor = AutoProcessor.from_pretrained(pretrained, trust_remote_code=remote)
        self.model = AutoModelForImageTextToText.from_pretrained(
            pretrained, dtype=default_dtype(self._device, dtype or None), trust_remote_code=remote
        ).to(self._device).eval()
        self.tokenizer = self.processor.tokenizer

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        args = simple_parse_args_string(arg_string or "")
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in args}
        return cls(**args, **extra)

    @property
    def device(self) -> torch.device:
        return self._device

    # -- inputs ------------------------------------------------------------------------------------
    def _video(self, doc_to_visual, doc_id, task, split) -> str:
        doc = self.task_dict[task][split][doc_id]
        visuals = doc_to_visual(doc)
        paths = [v for v in (visuals if isinstance(visuals, (list, tuple)) else [visuals]) if isinstance(v, str)]
        if not paths:
            raise ValueError(f"hf_video_ll: document {doc_id} of {task} has no video path")
        return paths[0]

    def _prompt(self, video: str, question: str) -> dict[str, torch.Tensor]:
        """Token ids (and video tensors) of the user turn with the video and the question, plus the assistant
        header: the context a continuation is scored after, or generated from."""
        from love_plugins.video import read_frames

        frames = read_frames(video, self.num_frames)
        messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=[text], videos=[frames], return_tensors="pt")
        return {k: v.to(self._device) for k, v in inputs.items()}

    # -- lmms interface ----------------------------------------------------------------------------
    @torch.inference_mode()
    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        out = []
        for request in requests:
            question, continuation, doc_to_visual, doc_id, task, split = request.args
            try:
                inputs = self._prompt(self._video(doc_to_visual, doc_id, task, split), question)
            except Exception as exc:  # an unreadable video is a failure, never a likelihood
                logger.warning("hf_video_ll: %s", exc)
                out.append((float("nan"), False))
                continue
            target = self.tokenizer(continuation, add_special_tokens=False, return_tensors="pt").input_ids
            target = target.to(self._device)
            ids = torch.cat([inputs["input_ids"], target], dim=1)
            mask = torch.ones_like(ids)
            extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
            if "mm_token_type_ids" in extra:  # Qwen-VL marks each token's modality; the continuation is text
                extra["mm_token_type_ids"] = torch.cat([extra["mm_token_type_ids"], torch.zeros_like(target)], dim=1)
            logits = self.model(input_ids=ids, attention_mask=mask, **extra).logits[0].float()
            start = inputs["input_ids"].shape[1]
            predicted = logits[start - 1 : ids.shape[1] - 1].log_softmax(-1)
            wanted = target[0]
            token_lls = predicted.gather(-1, wanted[:, None]).squeeze(-1)
            greedy = bool((predicted.argmax(-1) == wanted).all())
            out.append((float(token_lls.sum()), greedy))
        return out

    @torch.inference_mode()
    def generate_until(self, requests) -> list[str]:
        answers = []
        for request in requests:
            question, gen_kwargs, doc_to_visual, doc_id, task, split = request.args
            try:
                inputs = self._prompt(self._video(doc_to_visual, doc_id, task, split), question)
            except Exception as exc:
                logger.warning("hf_video_ll: %s", exc)
                answers.append(f"{FAILURE_PREFIX}{exc}")
                continue
            kwargs = dict(gen_kwargs or {})
            until = kwargs.pop("until", None) or []
            until = [until] if isinstance(until, str) else list(until)
            generated = self.model.generate(**inputs, max_new_tokens=int(kwargs.get("max_new_tokens", 32)),
                                            do_sample=False)
            text = self.tokenizer.decode(generated[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            for stop in until:
                text = text.split(stop)[0]
            answers.append(text.strip())
            self.cache_hook.add_partial("generate_until", (question, gen_kwargs), answers[-1])
        return answers

    def generate_until_multi_round(self, requests) -> list[str]:
        raise NotImplementedError("hf_video_ll answers single-turn requests only")
