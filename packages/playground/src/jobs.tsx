// The jobs view over the job API: the latest jobs with their state and
// progress (refreshed while the page is open), cancel, and re-open a result.
import { type Job, JobState } from '@acestep/proto/gateway';
import { useEffect, useState } from 'preact/hooks';
import { errorText, gateway } from './api.ts';
import { stageName } from './progress.tsx';

const STATE_NAMES: Record<number, string> = {
  [JobState.QUEUED]: 'queued',
  [JobState.RUNNING]: 'running',
  [JobState.SUCCEEDED]: 'succeeded',
  [JobState.FAILED]: 'failed',
  [JobState.CANCELLED]: 'cancelled',
};

const REFRESH_MS = 1000;

interface Props {
  /** Bumped by the page after it submits a job, so the list refreshes at once. */
  revision: number;
  onOpen: (job: Job) => void;
}

function created(job: Job): string {
  return job.createdAt ? new Date(Number(job.createdAt.seconds) * 1000).toLocaleTimeString() : '';
}

export function JobsView({ revision, onOpen }: Props) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [problem, setProblem] = useState('');

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      try {
        const res = await gateway.listJobs({ pageSize: 20 });
        if (live) {
          setJobs(res.jobs);
          setProblem('');
        }
      } catch (error) {
        if (live) setProblem(errorText(error));
      }
      if (live) timer = setTimeout(refresh, REFRESH_MS);
    };
    refresh();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [revision]);

  const cancel = async (id: string) => {
    try {
      const { job } = await gateway.cancelJob({ id });
      if (job) setJobs((list) => list.map((j) => (j.id === id ? job : j)));
    } catch (error) {
      setProblem(errorText(error));
    }
  };

  return (
    <section class="jobs">
      <h2>Jobs</h2>
      {problem && <p class="problem">{problem}</p>}
      {jobs.length === 0 ? (
        <p class="hint">No jobs yet: "Queue as job" submits one.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>job</th>
              <th>state</th>
              <th>progress</th>
              <th>caption</th>
              <th>created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => {
              const ended = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(job.state);
              const p = job.progress;
              return (
                <tr data-job-id={job.id} data-state={STATE_NAMES[job.state]}>
                  <td class="mono">{job.id}</td>
                  <td class="state">{STATE_NAMES[job.state] ?? job.state}</td>
                  <td>
                    {p && !ended ? `${stageName(p.stage)} ${p.total ? `${p.step}/${p.total}` : ''}` : ''}
                  </td>
                  <td>{job.config?.caption.slice(0, 40)}</td>
                  <td>{created(job)}</td>
                  <td>
                    {!ended && (
                      <button type="button" onClick={() => cancel(job.id)}>
                        Cancel
                      </button>
                    )}
                    {job.state === JobState.SUCCEEDED && job.result && (
                      <button type="button" onClick={() => onOpen(job)}>
                        Open
                      </button>
                    )}
                    {job.state === JobState.FAILED && <span class="problem">{job.result?.error}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
