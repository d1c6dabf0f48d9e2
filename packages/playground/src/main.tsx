// The ACE-Step playground: one page on the gateway's public API (Connect-Web).
// Generate streams progress and the result on the call; "Queue as job" submits
// a job that the jobs view follows.
import type { GenerationResult, Job, Progress } from '@acestep/proto/gateway';
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { errorText, gateway, storeApiKey, storedApiKey } from './api.ts';
import { buildConfig, type FormState, INITIAL_FORM, type SourceRef } from './config.ts';
import { GenerationForm, type Sources } from './form.tsx';
import { JobsView } from './jobs.tsx';
import { ProgressView } from './progress.tsx';
import { ResultView } from './results.tsx';

interface Shown {
  key: string;
  title: string;
  result: GenerationResult;
}

function App() {
  const [apiKey, setApiKey] = useState(storedApiKey());
  const [form, setFormState] = useState<FormState>(INITIAL_FORM);
  const [sources, setSources] = useState<Sources>({});
  const [events, setEvents] = useState<Progress[]>([]);
  const [status, setStatus] = useState<'idle' | 'running' | 'done' | 'failed' | 'stopped'>('idle');
  const [problem, setProblem] = useState('');
  const [running, setRunning] = useState<AbortController | undefined>(undefined);
  const [shown, setShown] = useState<Shown[]>([]);
  const [jobsRevision, setJobsRevision] = useState(0);
  const setForm = (update: Partial<FormState>) => setFormState((f) => ({ ...f, ...update }));

  const show = (item: Shown) =>
    setShown((list) => [item, ...list.filter((s) => s.key !== item.key)].slice(0, 6));

  const generate = async () => {
    setProblem('');
    let config: ReturnType<typeof buildConfig>;
    try {
      config = buildConfig(form, sources);
    } catch (error) {
      setProblem(errorText(error));
      return;
    }
    const abort = new AbortController();
    setRunning(abort);
    setEvents([]);
    setStatus('running');
    try {
      for await (const res of gateway.generate({ config }, { signal: abort.signal })) {
        if (res.event.case === 'progress') {
          const p = res.event.value;
          setEvents((list) => [...list, p]);
        } else if (res.event.case === 'result') {
          const result = res.event.value;
          show({ key: `g${Date.now()}`, title: `Generation (seeds ${result.seedValue})`, result });
        }
      }
      setStatus('done');
    } catch (error) {
      setStatus(abort.signal.aborted ? 'stopped' : 'failed');
      if (!abort.signal.aborted) setProblem(errorText(error));
    } finally {
      setRunning(undefined);
    }
  };

  const submit = async () => {
    setProblem('');
    try {
      const { job } = await gateway.submitJob({ config: buildConfig(form, sources) });
      setJobsRevision((r) => r + 1);
      if (job) setProblem('');
    } catch (error) {
      setProblem(errorText(error));
    }
  };

  const useAsSource = (ref: SourceRef, task: 'repaint' | 'cover') => {
    setSources((s) => ({ ...s, src: ref }));
    setForm({ task, repaintingStart: '0', repaintingEnd: '' });
    document.querySelector('.form')?.scrollIntoView({ behavior: 'smooth' });
  };

  const open = (job: Job) => job.result && show({ key: job.id, title: `Job ${job.id}`, result: job.result });

  return (
    <>
      <header>
        <h1>ACE-Step playground</h1>
        <label class="api-key">
          API key
          <input
            type="password"
            name="api_key"
            placeholder="none"
            value={apiKey}
            onInput={(e) => {
              setApiKey(e.currentTarget.value);
              storeApiKey(e.currentTarget.value);
            }}
          />
        </label>
      </header>
      <main>
        <div class="left">
          <GenerationForm form={form} setForm={setForm} sources={sources} setSources={setSources} />
          <div class="actions">
            <button type="button" class="primary" disabled={running !== undefined} onClick={generate}>
              Generate
            </button>
            {running && (
              <button type="button" onClick={() => running.abort()}>
                Stop
              </button>
            )}
            <button type="button" onClick={submit}>
              Queue as job
            </button>
          </div>
          {problem && (
            <p class="problem" role="alert">
              {problem}
            </p>
          )}
        </div>
        <div class="right">
          {status !== 'idle' && <ProgressView events={events} status={status} />}
          {shown.map((s) => (
            <ResultView key={s.key} title={s.title} result={s.result} onUseAsSource={useAsSource} />
          ))}
        </div>
      </main>
      <JobsView revision={jobsRevision} onOpen={open} />
    </>
  );
}

render(<App />, document.getElementById('app')!);
