// The generation form: text, metadata, the task and what it needs, output and
// seed, and the DiT/LM knobs under "advanced".
import type { ComponentChildren } from 'preact';
import {
  FORMATS,
  type FormState,
  INSTRUCTION_TASKS,
  RANGE_TASKS,
  SOURCE_TASKS,
  type SourceRef,
  TASKS,
  TIME_SIGNATURES,
} from './config.ts';
import { SourcePicker } from './source-picker.tsx';

export interface Sources {
  src?: SourceRef | undefined;
  reference?: SourceRef | undefined;
}

interface Props {
  form: FormState;
  setForm: (update: Partial<FormState>) => void;
  sources: Sources;
  setSources: (update: Sources) => void;
}

type TextKey = { [K in keyof FormState]: FormState[K] extends string ? K : never }[keyof FormState];
type BoolKey = { [K in keyof FormState]: FormState[K] extends boolean ? K : never }[keyof FormState];

function Field({ label, hint, children }: { label: string; hint?: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the children
    <label class="field">
      <span class="label">{label}</span>
      {children}
      {hint && <span class="hint">{hint}</span>}
    </label>
  );
}

export function GenerationForm({ form, setForm, sources, setSources }: Props) {
  const text = (key: TextKey, props: Record<string, unknown> = {}) => (
    <input
      name={key}
      value={form[key]}
      onInput={(e) => setForm({ [key]: (e.currentTarget as HTMLInputElement).value })}
      {...props}
    />
  );
  const check = (key: BoolKey, label: string) => (
    <label class="check">
      <input
        type="checkbox"
        name={key}
        checked={form[key]}
        onChange={(e) => setForm({ [key]: (e.currentTarget as HTMLInputElement).checked })}
      />
      {label}
    </label>
  );
  const end = Number(form.repaintingEnd || -1);
  return (
    <div class="form">
      <Field label="Caption">
        <textarea
          name="caption"
          rows={2}
          placeholder="upbeat electronic dance music, female vocals"
          value={form.caption}
          onInput={(e) => setForm({ caption: e.currentTarget.value })}
        />
      </Field>
      <Field label="Lyrics" hint="section tags: [verse], [chorus], [bridge]; [Instrumental] for none">
        <textarea
          name="lyrics"
          rows={5}
          placeholder={'[verse]\n...\n[chorus]\n...'}
          value={form.lyrics}
          onInput={(e) => setForm({ lyrics: e.currentTarget.value })}
        />
      </Field>
      <div class="row">
        <Field label="BPM">{text('bpm', { type: 'number', min: 30, max: 300, placeholder: 'auto' })}</Field>
        <Field label="Key">{text('keyScale', { placeholder: 'auto (e.g. C Major)' })}</Field>
        <Field label="Time signature">
          <select
            name="timeSignature"
            value={form.timeSignature}
            onChange={(e) => setForm({ timeSignature: e.currentTarget.value })}
          >
            {TIME_SIGNATURES.map((t) => (
              <option value={t}>{t || 'auto'}</option>
            ))}
          </select>
        </Field>
        <Field label="Language">{text('vocalLanguage', { placeholder: 'unknown (e.g. en)' })}</Field>
        <Field label="Duration (s)">
          {text('audioDuration', { type: 'number', min: 10, max: 600, placeholder: 'auto' })}
        </Field>
      </div>
      <div class="row">
        <Field label="Task">
          <select
            name="task"
            value={form.task}
            onChange={(e) => setForm({ task: e.currentTarget.value as FormState['task'] })}
          >
            {Object.keys(TASKS).map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field label="Batch size">{text('batchSize', { type: 'number', min: 1, max: 8 })}</Field>
        <Field label="Seed">{text('seed', { placeholder: 'random' })}</Field>
        <Field label="Format">
          <select
            name="format"
            value={form.format}
            onChange={(e) => setForm({ format: e.currentTarget.value as FormState['format'] })}
          >
            {Object.keys(FORMATS).map((f) => (
              <option value={f}>{f}</option>
            ))}
          </select>
        </Field>
      </div>
      {SOURCE_TASKS.includes(form.task) && (
        <div class="task-inputs">
          <SourcePicker
            label="Source audio"
            name="src_audio"
            value={sources.src}
            onChange={(src) => setSources({ ...sources, src })}
            range={
              RANGE_TASKS.includes(form.task) ? { start: Number(form.repaintingStart || 0), end } : undefined
            }
            onRange={
              RANGE_TASKS.includes(form.task)
                ? (start, stop) => setForm({ repaintingStart: String(start), repaintingEnd: String(stop) })
                : undefined
            }
          />
          {RANGE_TASKS.includes(form.task) && (
            <div class="row">
              <Field label="Repaint from (s)">
                {text('repaintingStart', { type: 'number', min: 0, step: 0.1 })}
              </Field>
              <Field label="to (s)">
                {text('repaintingEnd', { type: 'number', step: 0.1, placeholder: 'end' })}
              </Field>
            </div>
          )}
          {form.task === 'cover' && (
            <Field label="Cover strength">
              {text('audioCoverStrength', { type: 'number', min: 0, max: 1, step: 0.05, placeholder: '1.0' })}
            </Field>
          )}
          {INSTRUCTION_TASKS.includes(form.task) && (
            <Field label="Instruction" hint="base model only; names the track(s)">
              {text('instruction', { placeholder: "the task's default" })}
            </Field>
          )}
        </div>
      )}
      <SourcePicker
        label="Reference audio (timbre/style, optional)"
        name="reference_audio"
        value={sources.reference}
        onChange={(reference) => setSources({ ...sources, reference })}
      />
      <details class="advanced">
        <summary>Advanced</summary>
        <div class="row">
          <Field label="Steps">{text('inferenceSteps', { type: 'number', placeholder: '8' })}</Field>
          <Field label="Guidance">
            {text('guidanceScale', { type: 'number', step: 0.5, placeholder: '7.0' })}
          </Field>
          <Field label="CFG from">
            {text('cfgIntervalStart', { type: 'number', step: 0.05, placeholder: '0.0' })}
          </Field>
          <Field label="CFG to">
            {text('cfgIntervalEnd', { type: 'number', step: 0.05, placeholder: '1.0' })}
          </Field>
          {check('useAdg', 'ADG')}
        </div>
        <div class="row">
          {check('useLlmThinking', 'LM thinking')}
          {check('useCotMetas', 'LM metadata')}
          {check('useCotCaption', 'LM caption')}
          {check('useCotLanguage', 'LM language')}
          {check('allowLmBatch', 'LM batch')}
        </div>
        <div class="row">
          <Field label="LM temperature">
            {text('lmTemperature', { type: 'number', step: 0.05, placeholder: '0.85' })}
          </Field>
          <Field label="LM CFG">
            {text('lmCfgScale', { type: 'number', step: 0.1, placeholder: '2.0' })}
          </Field>
          <Field label="LM top-k">{text('lmTopK', { type: 'number', placeholder: '0 (off)' })}</Field>
          <Field label="LM top-p">{text('lmTopP', { type: 'number', step: 0.05, placeholder: '0.9' })}</Field>
          <Field label="LM chunk">{text('lmBatchChunkSize', { type: 'number', placeholder: '4' })}</Field>
        </div>
        <Field label="LM negative prompt">{text('lmNegativePrompt', { placeholder: 'NO USER INPUT' })}</Field>
        <Field label="Audio codes" hint="pre-extracted 5 Hz codes (<|audio_code_N|>...)">
          {text('audioCodeString')}
        </Field>
      </details>
    </div>
  );
}
