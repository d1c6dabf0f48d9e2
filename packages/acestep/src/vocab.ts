// The closed vocabularies of ACE-Step 1.5 (docs/model-rules.md): the task
// types and their DiT instructions, and the lists the LM's constrained
// decoding allows (key scales, time signatures, language codes).

export const TASK_NAMES = ['text2music', 'cover', 'repaint', 'lego', 'extract', 'complete'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Tasks only the base DiT was trained for (docs/model-rules.md, "Tasks"). */
export const BASE_ONLY_TASKS: ReadonlySet<TaskName> = new Set(['lego', 'extract', 'complete']);

/** Tasks whose DiT context is the source audio. */
export const SOURCE_AUDIO_TASKS: ReadonlySet<TaskName> = new Set([
  'cover',
  'repaint',
  'lego',
  'extract',
  'complete',
]);

/** The DiT instruction each task uses when the request leaves `instruction` empty (constants.TASK_INSTRUCTIONS). */
export const TASK_INSTRUCTIONS: Readonly<Record<TaskName, string>> = {
  text2music: 'Fill the audio semantic mask based on the given conditions:',
  repaint: 'Repaint the mask area based on the given conditions:',
  cover: 'Generate audio semantic tokens based on the given conditions:',
  extract: 'Extract the track from the audio:',
  lego: 'Generate the track based on the audio context:',
  complete: 'Complete the input track:',
};

/**
 * The task a contract's TaskType value names, read from the enum value's name:
 * every contract spells the tasks as upper-case enum names (TEXT2MUSIC, COVER,
 * ...), and UNSPECIFIED means the default, text2music. Undefined for a value
 * that names no task (a number from a newer client).
 */
export function taskOfEnumName(name: string | undefined): TaskName | undefined {
  if (name === 'UNSPECIFIED') return 'text2music';
  return TASK_NAMES.find((task) => task.toUpperCase() === name);
}

/** The enum name every contract gives `task` ("text2music" → "TEXT2MUSIC"). */
export function taskEnumName(task: TaskName): Uppercase<TaskName> {
  return task.toUpperCase() as Uppercase<TaskName>;
}

/** The stems lego, extract and complete name in their instructions (lower case; upper-cased in the prompt). */
export const TRACK_NAMES = [
  'woodwinds',
  'brass',
  'fx',
  'synth',
  'strings',
  'percussion',
  'keyboard',
  'guitar',
  'bass',
  'drums',
  'backing_vocals',
  'vocals',
] as const;
export type TrackName = (typeof TRACK_NAMES)[number];

export const AUDIO_FORMATS = ['mp3', 'wav', 'flac'] as const;
export type AudioFormatName = (typeof AUDIO_FORMATS)[number];
/** The output format when a request leaves it unspecified. */
export const DEFAULT_AUDIO_FORMAT: AudioFormatName = 'mp3';

/** The format an AudioFormat enum name names (UNSPECIFIED → mp3), or undefined. */
export function formatOfEnumName(name: string | undefined): AudioFormatName | undefined {
  if (name === 'UNSPECIFIED') return DEFAULT_AUDIO_FORMAT;
  return AUDIO_FORMATS.find((format) => format.toUpperCase() === name);
}

export const DIT_VARIANTS = ['turbo', 'base', 'sft'] as const;
export type DitVariant = (typeof DIT_VARIANTS)[number];

/** The 51 language codes the LM may write (constants.VALID_LANGUAGES); "unknown" = auto. */
export const VOCAL_LANGUAGES: readonly string[] = (
  'ar az bg bn ca cs da de el en es fa fi fr he hi hr ht hu id is it ja ko la lt ms ne nl no pa pl pt ' +
  'ro ru sa sk sr sv sw ta te th tl tr uk ur vi yue zh unknown'
).split(' ');

const NOTES = ['A', 'B', 'C', 'D', 'E', 'F', 'G'] as const;
const ACCIDENTALS = ['', '#', 'b', '♯', '♭'] as const;
const MODES = ['major', 'minor'] as const;

/** The 70 keyscales of the LM's keyscale prefix tree: note × accidental × mode. */
export const KEY_SCALES: readonly string[] = NOTES.flatMap((note) =>
  ACCIDENTALS.flatMap((accidental) => MODES.map((mode) => `${note}${accidental} ${mode}`)),
);

/** Public spelling of the four time signatures; the LM writes only the numerator (6 means 6/8). */
export const TIME_SIGNATURES = ['2/4', '3/4', '4/4', '6/8'] as const;
export type TimeSignature = (typeof TIME_SIGNATURES)[number];

const KEY_SCALE_INPUT = /^([A-Ga-g])([#b♯♭]?)\s*(major|minor|maj|min|m)?$/i;

/**
 * A keyscale as the LM spells it ("F# minor"), or null when the text is not one
 * of the 70. Accepts any case for the note and mode words and the short forms
 * "Am" / "F#m" / "Bb" (major); "" and "n/a" mean auto and return "".
 */
export function canonicalKeyScale(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'n/a') return '';
  const match = KEY_SCALE_INPUT.exec(trimmed);
  if (!match) return null;
  const [, note = '', accidental = '', modeText] = match;
  // A bare lowercase "m" is minor (Am); an uppercase "M" is ambiguous chord notation, so refuse it.
  if (modeText === 'M') return null;
  const mode = modeText === undefined || /^maj/i.test(modeText) ? 'major' : 'minor';
  return `${note.toUpperCase()}${accidental} ${mode}`;
}

/** "4/4" or the LM's numerator form "4" → "4/4"; "" and "n/a" → ""; anything else → null. */
export function canonicalTimeSignature(text: string): TimeSignature | '' | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'n/a') return '';
  const byNumerator: Record<string, TimeSignature> = { '2': '2/4', '3': '3/4', '4': '4/4', '6': '6/8' };
  const numeratorForm = byNumerator[trimmed];
  if (numeratorForm) return numeratorForm;
  return (TIME_SIGNATURES as readonly string[]).includes(trimmed) ? (trimmed as TimeSignature) : null;
}

/** The LM's own spelling of a time signature: the numerator ("6/8" → "6"). */
export function lmTimeSignature(timeSignature: TimeSignature): string {
  return timeSignature.slice(0, timeSignature.indexOf('/'));
}

/** Lyrics that mean "no vocals" (the REST server's `instrumental` rule). */
export function isInstrumental(lyrics: string): boolean {
  const trimmed = lyrics.trim().toLowerCase();
  return trimmed === '' || trimmed === '[inst]' || trimmed === '[instrumental]';
}
