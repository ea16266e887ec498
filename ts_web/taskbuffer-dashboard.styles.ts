import { css } from 'lit';
import { actionsStyles } from './dashboard-actions.styles.js';
import { clusterStyles } from './dashboard-cluster.styles.js';
import { connectionStyles } from './dashboard-connection.styles.js';
import { groupStyles } from './dashboard-groups.styles.js';
import { headerStyles } from './dashboard-header.styles.js';
import { historyStyles } from './dashboard-history.styles.js';
import { metricsStyles } from './dashboard-metrics.styles.js';
import { progressStyles } from './dashboard-progress.styles.js';
import { queueStyles } from './dashboard-queue.styles.js';
import { taskCardStyles, taskFactsStyles } from './dashboard-task.styles.js';
import { themeStyles } from './dashboard-theme.styles.js';
import { waitsStyles } from './dashboard-waits.styles.js';

/**
 * The dashboard's stylesheet, put together from one module per part of the view. Joined into
 * one `CSSResult` (not an array of sheets) so that the shadow root gets a single stylesheet
 * whose rules keep the order they always had: the theme first, then the page top to bottom
 * and a card top to bottom (later rules of equal specificity win).
 */
export default css`
  ${themeStyles}
  ${headerStyles}
  ${connectionStyles}
  ${clusterStyles}
  ${groupStyles}
  ${waitsStyles}
  ${taskCardStyles}
  ${progressStyles}
  ${taskFactsStyles}
  ${historyStyles}
  ${metricsStyles}
  ${queueStyles}
  ${actionsStyles}
`;
