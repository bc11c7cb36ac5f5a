/**
 * Lepton Lab JupyterLab extension entry point.
 *
 * Wires the shared LeptonModel (REST client + live sockets) to the side
 * panel, the job and sweep views in the main area, notifications on
 * completion, palette commands and the launcher's tutorial notebooks.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';

import { createClient, socketFactory } from './api';
import { leptonIcon, tutorialIcons } from './icons';
import { JobView } from './jobview';
import { LeptonModel } from './model';
import { completionMessage, shouldNotify, sweepMessage } from './notifications';
import { ModelView } from './modelview';
import { LeptonLabPanel } from './panel';
import { SweepView } from './sweepview';
import { IContentsEntry, TutorialIcon, pickTutorials, tutorialsFolder } from './tutorials';

export { leptonIcon };

/** Command ids. */
export namespace CommandIDs {
  export const openPanel = 'lepton-lab:open-panel';
  export const openJob = 'lepton-lab:open-job';
  export const openSweep = 'lepton-lab:open-sweep';
  export const openModel = 'lepton-lab:open-model';
  export const refresh = 'lepton-lab:refresh';
  export const openTutorial = 'lepton-lab:open-tutorial';
}

const CATEGORY = 'Lepton Lab';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'lepton-lab:plugin',
  description: 'Lepton Lab: live training jobs, job views and tutorials.',
  autoStart: true,
  optional: [ICommandPalette, ILauncher, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new LeptonModel({ client: createClient(), connect: socketFactory() });
    const tracker = new WidgetTracker<MainAreaWidget<JobView>>({ namespace: 'lepton-lab-job' });
    const sweepTracker = new WidgetTracker<MainAreaWidget<SweepView>>({ namespace: 'lepton-lab-sweep' });
    const modelTracker = new WidgetTracker<MainAreaWidget<ModelView>>({ namespace: 'lepton-lab-model' });
    const serverRoot = PageConfig.getOption('serverRoot');

    const openJob = (id: string): MainAreaWidget<JobView> => {
      const existing = tracker.find(widget => widget.content.jobId === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const content = new JobView({
        model,
        jobId: id,
        serverRoot,
        showFolder: path => void app.commands.execute('filebrowser:go-to-path', { path }),
        openSweep: sweepId => void app.commands.execute(CommandIDs.openSweep, { id: sweepId }),
        openModel: name => void app.commands.execute(CommandIDs.openModel, { name })
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `lepton-lab-job-${id}`;
      widget.title.icon = leptonIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };

    const openSweep = (id: string): MainAreaWidget<SweepView> => {
      const existing = sweepTracker.find(widget => widget.content.sweepId === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const content = new SweepView({ model, sweepId: id, openJob });
      const widget = new MainAreaWidget({ content });
      widget.id = `lepton-lab-sweep-${id}`;
      widget.title.icon = leptonIcon;
      widget.title.closable = true;
      void sweepTracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };

    const openModel = (name: string): MainAreaWidget<ModelView> => {
      const existing = modelTracker.find(widget => widget.content.modelName === name);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const content = new ModelView({ model, name, openJob });
      const widget = new MainAreaWidget({ content });
      widget.id = `lepton-lab-model-${name}`;
      widget.title.icon = leptonIcon;
      widget.title.closable = true;
      void modelTracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };

    const panel = new LeptonLabPanel({ model, openJob, openSweep, openModel });
    panel.title.icon = leptonIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(CommandIDs.openPanel, {
      // The launcher shows it under a "Lepton Lab" heading already.
      label: args => (args.isLauncher ? 'Jobs Panel' : 'Lepton Lab: Show Jobs Panel'),
      caption: 'Show every training job on this server',
      icon: leptonIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.openJob, {
      label: args => (args.id ? `Lepton Lab: Open Job ${args.id}` : 'Lepton Lab: Open Job View…'),
      caption: 'Live charts, spec and log of one job',
      icon: leptonIcon,
      execute: async args => {
        const id = typeof args.id === 'string' ? args.id : await chooseJob(model);
        if (id) {
          return openJob(id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.openSweep, {
      label: args => `Lepton Lab: Open Sweep ${args.id ?? ''}`.trim(),
      caption: 'Best so far, trials and parameters of one sweep',
      icon: leptonIcon,
      isVisible: args => typeof args.id === 'string',
      execute: args => (typeof args.id === 'string' ? openSweep(args.id) : undefined)
    });
    app.commands.addCommand(CommandIDs.openModel, {
      label: args => `Lepton Lab: Open Model ${args.name ?? ''}`.trim(),
      caption: 'Requests, latency, classes and drift of one deployed model',
      icon: leptonIcon,
      isVisible: args => typeof args.name === 'string',
      execute: args => (typeof args.name === 'string' ? openModel(args.name) : undefined)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Lepton Lab: Refresh Jobs',
      execute: () => panel.refresh()
    });
    app.commands.addCommand(CommandIDs.openTutorial, {
      label: args => String(args.title ?? args.path ?? 'Lepton Lab tutorial'),
      caption: args => `Open the tutorial notebook ${args.path ?? ''}`,
      icon: args => tutorialIcons[args.icon as TutorialIcon] ?? leptonIcon,
      execute: args => app.commands.execute('docmanager:open', { path: String(args.path) })
    });
    for (const command of [CommandIDs.openPanel, CommandIDs.openJob, CommandIDs.refresh]) {
      palette?.addItem({ command, category: CATEGORY });
    }

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openJob,
        args: widget => ({ id: widget.content.jobId }),
        name: widget => widget.content.jobId
      });
      void restorer.restore(sweepTracker, {
        command: CommandIDs.openSweep,
        args: widget => ({ id: widget.content.sweepId }),
        name: widget => widget.content.sweepId
      });
      void restorer.restore(modelTracker, {
        command: CommandIDs.openModel,
        args: widget => ({ name: widget.content.modelName }),
        name: widget => widget.content.modelName
      });
    }

    model.transitions.connect((_, transition) => {
      if (!shouldNotify(transition)) {
        return;
      }
      // Wait (briefly) for the job stream to deliver the last epoch and evaluation events.
      const feed = model.existingFeed(transition.id);
      void (feed ? feed.settled(3000) : Promise.resolve()).then(() => {
        const { type, message } = completionMessage(transition, feed?.metrics);
        const options = {
          autoClose: type === 'success' ? 8000 : (false as const),
          actions: [{ label: 'Open', callback: () => void openJob(transition.id) }]
        };
        if (type === 'success') {
          Notification.success(message, options);
        } else {
          Notification.error(message, options);
        }
      });
    });

    model.sweepTransitions.connect((_, transition) => {
      const note = sweepMessage(transition);
      if (!note) {
        return;
      }
      const options = {
        autoClose: note.type === 'success' ? 8000 : (false as const),
        actions: [{ label: 'Open', callback: () => void openSweep(transition.id) }]
      };
      if (note.type === 'success') {
        Notification.success(note.message, options);
      } else {
        Notification.error(note.message, options);
      }
    });

    if (launcher) {
      launcher.add({ command: CommandIDs.openPanel, category: CATEGORY, rank: 0, args: { isLauncher: true } });
      void addTutorials(app, launcher);
    }

    void app.restored.then(() => model.start());
  }
};

/** Ask which job to open (palette command without an id). */
async function chooseJob(model: LeptonModel): Promise<string | null> {
  await model.refresh();
  const jobs = model.state.list();
  if (jobs.length === 0) {
    Notification.info('Lepton Lab: there are no jobs on this server yet.', { autoClose: 4000 });
    return null;
  }
  const labels = jobs.map(job => `${job.name || job.id} (${job.status}) — ${job.id}`);
  const result = await InputDialog.getItem({ title: 'Open Lepton Lab job', items: labels });
  if (!result.button.accept || result.value === null) {
    return null;
  }
  const index = labels.indexOf(result.value);
  return index >= 0 ? jobs[index].id : null;
}

/** Add a launcher card for each tutorial notebook the contents API lists. */
async function addTutorials(app: JupyterFrontEnd, launcher: ILauncher): Promise<void> {
  const contents = app.serviceManager.contents;
  const list = async (path: string): Promise<IContentsEntry[] | null> => {
    try {
      const model = await contents.get(path, { content: true });
      return model.type === 'directory' ? (model.content as IContentsEntry[]) : null;
    } catch {
      return null;
    }
  };
  // The root first: asking for a `notebooks/` folder that is not there (the server runs inside
  // it, as `make lab` starts it) would log a 404 on every page load.
  const root = (await list('')) ?? [];
  const folderName = tutorialsFolder(root);
  const folder = folderName === null ? null : await list(folderName);
  pickTutorials(folder, root).forEach((tutorial, index) => {
    launcher.add({
      command: CommandIDs.openTutorial,
      category: CATEGORY,
      rank: index + 1,
      args: { path: tutorial.path, title: tutorial.title, icon: tutorial.icon }
    });
  });
}

export default plugin;
