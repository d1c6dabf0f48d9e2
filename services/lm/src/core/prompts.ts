/**
 * Prompt strings of the 5 Hz LM, byte-equal to the official Python (docs/official-behaviour.md "LM phases").
 * The Qwen3 chat template is rendered by hand: only the no-tools, no-thinking-flag paths the
 * official code reaches are needed, and special tokens stay in the text (the tokenizer maps them
 * to single ids).
 */

export const LM_INSTRUCTIONS = {
  generate: 'Generate audio semantic tokens based on the given conditions:',
  understand: 'Understand the given musical conditions and describe the audio semantics accordingly:',
  inspire: "Expand the user's input into a more detailed and specific musical description:",
  rewrite: "Format the user's input into a more detailed and specific musical description:",
} as const;

export const NO_USER_INPUT = 'NO USER INPUT';
export const DEFAULT_LM_NEGATIVE_PROMPT = NO_USER_INPUT;

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

/** Python's str.strip('\n') family, for the template's reasoning split. */
function stripChars(s: string, chars: string, left: boolean, right: boolean): string {
  let start = 0;
  let end = s.length;
  while (left && start < end && chars.includes(s[start]!)) start++;
  while (right && end > start && chars.includes(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/**
 * The final assistant message as the Qwen3 template renders it when it comes after the last user turn:
 * its `<think>` block is re-rendered as `<think>\n{reasoning}\n</think>\n\n{rest}`.
 */
function renderAssistant(content: string): string {
  if (!content.includes('</think>')) return content;
  const beforeEnd = content.split('</think>')[0]!;
  const reasoningParts = stripChars(beforeEnd, '\n', false, true).split('<think>');
  const reasoning = stripChars(reasoningParts.at(-1)!, '\n', true, false);
  const rest = stripChars(content.split('</think>').at(-1)!, '\n', true, false);
  return `<think>\n${stripChars(reasoning, '\n', true, true)}\n</think>\n\n${rest}`;
}

/** `apply_chat_template(messages, tokenize=False)` for system/user turns and one final assistant turn. */
export function renderChat(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let out = '';
  for (const m of messages) {
    const content = m.role === 'assistant' ? renderAssistant(m.content) : m.content;
    out += `<|im_start|>${m.role}\n${content}<|im_end|>\n`;
  }
  if (addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}

function systemMessage(instruction: string): ChatMessage {
  return { role: 'system', content: `# Instruction\n${instruction}\n\n` };
}

/** "Meaningful" negative prompt: non-empty after strip and not the NO USER INPUT placeholder. */
export function isMeaningfulNegativePrompt(negativePrompt: string | undefined): negativePrompt is string {
  const p = negativePrompt?.trim() ?? '';
  return p !== '' && p !== NO_USER_INPUT;
}

function captionLyricUser(caption: string, lyrics: string): string {
  return `# Caption\n${caption}\n\n# Lyric\n${lyrics}\n`;
}

export interface CfgPromptPair {
  readonly cond: string;
  readonly uncond: string;
}

/** Phase 1 (CoT metadata): `build_formatted_prompt` and its CFG negative. */
export function buildPhase1Prompts(caption: string, lyrics: string, negativePrompt?: string): CfgPromptPair {
  const system = systemMessage(LM_INSTRUCTIONS.generate);
  const cond = renderChat([system, { role: 'user', content: captionLyricUser(caption, lyrics) }], true);
  const uncondUser = isMeaningfulNegativePrompt(negativePrompt)
    ? captionLyricUser(negativePrompt, lyrics)
    : `# Lyric\n${lyrics}\n`;
  const uncond = renderChat([system, { role: 'user', content: uncondUser }], true);
  return { cond, uncond };
}

/** The assistant turn of Phase 2: `<think>\n{yaml}\n</think>`, or the empty CoT when there is no metadata. */
export function cotAssistantContent(metadataYaml: string): string {
  return metadataYaml === '' ? '<think>\n</think>' : `<think>\n${metadataYaml}\n</think>`;
}

function phase2Prompt(caption: string, lyrics: string, cotText: string): string {
  const rendered = renderChat(
    [
      systemMessage(LM_INSTRUCTIONS.generate),
      { role: 'user', content: captionLyricUser(caption, lyrics) },
      { role: 'assistant', content: cotText },
    ],
    false,
  );
  return rendered.endsWith('\n') ? rendered : `${rendered}\n`;
}

/**
 * Phase 2 (audio codes): `build_formatted_prompt_with_cot` (docs/official-behaviour.md "CoT text"). `metadataYaml` is the
 * stripped PyYAML text of the metadata (see yaml.ts); the caption is the user's original caption.
 * The negative keeps the caption unless a meaningful negative prompt replaces it.
 */
export function buildPhase2Prompts(
  caption: string,
  lyrics: string,
  metadataYaml: string,
  negativePrompt?: string,
): CfgPromptPair {
  const cond = phase2Prompt(caption, lyrics, cotAssistantContent(metadataYaml));
  const uncondCaption = isMeaningfulNegativePrompt(negativePrompt) ? negativePrompt : caption;
  const uncond = phase2Prompt(uncondCaption, lyrics, cotAssistantContent(''));
  return { cond, uncond };
}

function singleTurn(instruction: string, user: string): string {
  return renderChat([systemMessage(instruction), { role: 'user', content: user }], true);
}

/** Negative of the single-turn prompts: never used upstream (no CFG there), kept for completeness. */
function singleTurnNegative(instruction: string, negativePrompt: string | undefined): string {
  const user = negativePrompt?.trim() ? negativePrompt : '';
  return singleTurn(instruction, user);
}

/** Audio understanding: codes string (`<|audio_code_N|>…`) → metadata + lyrics. Empty codes ask for a random sample. */
export function buildUnderstandPrompts(audioCodes: string, negativePrompt?: string): CfgPromptPair {
  const user = audioCodes.trim() ? audioCodes : NO_USER_INPUT;
  return {
    cond: singleTurn(LM_INSTRUCTIONS.understand, user),
    uncond: singleTurnNegative(LM_INSTRUCTIONS.understand, negativePrompt),
  };
}

/** Simple mode / create_sample: `{query}\n\ninstrumental: {true|false}`; an empty query becomes NO USER INPUT. */
export function buildInspirationPrompts(
  query: string,
  instrumental: boolean,
  negativePrompt?: string,
): CfgPromptPair {
  const q = query.trim() ? query : NO_USER_INPUT;
  return {
    cond: singleTurn(LM_INSTRUCTIONS.inspire, `${q}\n\ninstrumental: ${instrumental ? 'true' : 'false'}`),
    uncond: singleTurnNegative(LM_INSTRUCTIONS.inspire, negativePrompt),
  };
}

/** format_sample: note there is no trailing newline after the lyrics here, unlike Phase 1/2. */
export function buildFormatPrompts(caption: string, lyrics: string, negativePrompt?: string): CfgPromptPair {
  const c = caption.trim() ? caption : NO_USER_INPUT;
  const l = lyrics.trim() ? lyrics : '[Instrumental]';
  return {
    cond: singleTurn(LM_INSTRUCTIONS.rewrite, `# Caption\n${c}\n\n# Lyric\n${l}`),
    uncond: singleTurnNegative(LM_INSTRUCTIONS.rewrite, negativePrompt),
  };
}
