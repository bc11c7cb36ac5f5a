/**
 * Lepton Lab JupyterLab extension entry point.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { LeptonLabPanel } from './panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
  '<circle cx="12" cy="12" r="2.6"/><path d="M12 3c4.6 0 8 4 8 9s-3.4 9-8 9-8-4-8-9 3.4-9 8-9zm0 1.8' +
  'c-3.3 0-6.2 3.1-6.2 7.2s2.9 7.2 6.2 7.2 6.2-3.1 6.2-7.2S15.3 4.8 12 4.8z"/></g></svg>';

export const leptonIcon = new LabIcon({ name: 'lepton-lab:icon', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'lepton-lab:plugin',
  description: 'Lepton Lab side panel: training jobs on this server.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, shell: ILabShell, palette: ICommandPalette | null) => {
    const panel = new LeptonLabPanel();
    panel.title.icon = leptonIcon;
    shell.add(panel, 'left', { rank: 600 });

    const command = 'lepton-lab:open-panel';
    app.commands.addCommand(command, {
      label: 'Lepton Lab: Show Jobs Panel',
      execute: () => shell.activateById(panel.id)
    });
    palette?.addItem({ command, category: 'Lepton Lab' });
  }
};

export default plugin;
