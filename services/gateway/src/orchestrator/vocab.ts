// The public contract's enums in the model's vocabulary (@acestep/acestep):
// one rule for every contract, the enum value's name is the task or format.
import {
  type AudioFormatName,
  formatOfEnumName,
  type TaskName,
  taskEnumName,
  taskOfEnumName,
} from '@acestep/acestep';
import { TaskType as DitTaskType } from '@acestep/proto/dit';
import { AudioFormat, TaskType } from '@acestep/proto/gateway';

/** The task of a GenerationConfig.task_type value; undefined for an unknown number. */
export function taskOf(value: TaskType): TaskName | undefined {
  return taskOfEnumName(TaskType[value]);
}

/** The format of a GenerationConfig.audio_format value; undefined for an unknown number. */
export function formatOf(value: AudioFormat): AudioFormatName | undefined {
  return formatOfEnumName(AudioFormat[value]);
}

/** The DiT contract's value for `task`. */
export function ditTaskType(task: TaskName): DitTaskType {
  return DitTaskType[taskEnumName(task) as keyof typeof DitTaskType];
}
