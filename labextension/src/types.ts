/**
 * GENERATED FILE: do not edit. The payload types of the Lepton Lab API, generated from the
 * pydantic models (lepton_lab/core/specs.py, event_schema.py, job_status.py,
 * lepton_lab/server/job_schema.py) through openapi.json's component schemas.
 *
 * Regenerate after changing a model: `jlpm gen:types` (`make lint` fails while it is stale).
 * Hand-written types that are not schema live in payloads.ts.
 */
/* eslint-disable */

/**
 * One line of a run's events.jsonl.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Event".
 */
export type JobEvent = IBatchEvent | IEpochEvent | IStatusEvent | ILogEvent | IEvalEvent;
/**
 * One layer of a model spec, chosen by its type.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "LayerSpec".
 */
export type ILayerSpec =
  | IConv2DLayer
  | IMaxPooling2DLayer
  | IAveragePooling2DLayer
  | IBatchNormalizationLayer
  | IDropoutLayer
  | IFlattenLayer
  | IGlobalAveragePooling2DLayer
  | IDenseLayer
  | IActivationLayer
  | IReshapeLayer
  | ISimpleRNNLayer
  | ILSTMLayer
  | IGRULayer
  | IBidirectionalLayer
  | IEmbeddingLayer
  | IConv1DLayer
  | IMaxPooling1DLayer
  | IAveragePooling1DLayer
  | IGlobalMaxPooling1DLayer
  | IGlobalAveragePooling1DLayer;

/**
 * Every schema of openapi.json by name (generated: a map of the types above).
 */
export interface IApiSchemas {
  ActivationLayer?: IActivationLayer;
  AudioNoiseOp?: IAudioNoiseOp;
  AugmentSpec?: IAugmentSpec;
  AveragePooling1DLayer?: IAveragePooling1DLayer;
  AveragePooling2DLayer?: IAveragePooling2DLayer;
  BatchEvent?: IBatchEvent;
  BatchNormalizationLayer?: IBatchNormalizationLayer;
  BidirectionalLayer?: IBidirectionalLayer;
  BrightnessOp?: IBrightnessOp;
  CategoricalDimension?: ICategoricalDimension;
  ContrastOp?: IContrastOp;
  Conv1DLayer?: IConv1DLayer;
  Conv2DLayer?: IConv2DLayer;
  CropOp?: ICropOp;
  DatasetSpec?: IDatasetSpec;
  DenseLayer?: IDenseLayer;
  DropoutLayer?: IDropoutLayer;
  EmbeddingLayer?: IEmbeddingLayer;
  EpochEvent?: IEpochEvent;
  Error?: IError;
  EvalEvent?: IEvalEvent;
  Event?: JobEvent;
  FlattenLayer?: IFlattenLayer;
  FlipOp?: IFlipOp;
  FloatDimension?: IFloatDimension;
  GRULayer?: IGRULayer;
  GlobalAveragePooling1DLayer?: IGlobalAveragePooling1DLayer;
  GlobalAveragePooling2DLayer?: IGlobalAveragePooling2DLayer;
  GlobalMaxPooling1DLayer?: IGlobalMaxPooling1DLayer;
  IntDimension?: IIntDimension;
  Job?: IJob;
  JobPatch?: IJobPatch;
  JobProgress?: IJobProgress;
  JobSpec?: IJobSpec;
  LSTMLayer?: ILSTMLayer;
  LayerSpec?: ILayerSpec;
  LogEvent?: ILogEvent;
  MaxPooling1DLayer?: IMaxPooling1DLayer;
  MaxPooling2DLayer?: IMaxPooling2DLayer;
  MelSpectrogramSpec?: IMelSpectrogramSpec;
  ModelSpec?: IModelSpec;
  NoiseOp?: INoiseOp;
  Objective?: IObjective;
  ReshapeLayer?: IReshapeLayer;
  ResourcesSpec?: IResourcesSpec;
  RotationOp?: IRotationOp;
  RuntimeSpec?: IRuntimeSpec;
  STFTSpectrogramSpec?: ISTFTSpectrogramSpec;
  SimpleRNNLayer?: ISimpleRNNLayer;
  StatusEvent?: IStatusEvent;
  Sweep?: ISweep;
  SweepBest?: ISweepBest;
  SweepCounts?: ISweepCounts;
  SweepObjective?: ISweepObjective;
  SweepSpec?: ISweepSpec;
  TextVectorizationSpec?: ITextVectorizationSpec;
  TimeShiftOp?: ITimeShiftOp;
  TrainSpec?: ITrainSpec;
  TranslationOp?: ITranslationOp;
  Trial?: ITrial;
  ZoomOp?: IZoomOp;
}
/**
 * ``keras.layers.Activation``.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ActivationLayer".
 */
export interface IActivationLayer {
  type: 'Activation';
  activation: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
}
/**
 * Add white Gaussian noise at a signal-to-noise ratio drawn uniformly from ``snr_db`` per clip.
 *
 * The noise power is the clip's own mean power divided by ``10 ** (snr / 10)`` (a silent clip
 * stays silent), as in audiomentations' ``AddGaussianSNR``.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "AudioNoiseOp".
 */
export interface IAudioNoiseOp {
  op?: 'audio_noise';
  /**
   * [lowest, highest] SNR in dB.
   *
   * @minItems 2
   * @maxItems 2
   */
  snr_db?: unknown[];
}
/**
 * Ordered augmentation pipeline, applied to training batches only.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "AugmentSpec".
 */
export interface IAugmentSpec {
  /**
   * @maxItems 32
   */
  ops?: (
    | IFlipOp
    | IRotationOp
    | IZoomOp
    | ITranslationOp
    | ICropOp
    | IContrastOp
    | IBrightnessOp
    | INoiseOp
    | ITimeShiftOp
    | IAudioNoiseOp
  )[];
}
/**
 * Random horizontal and/or vertical flips.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "FlipOp".
 */
export interface IFlipOp {
  op?: 'flip';
  mode?: 'horizontal' | 'vertical' | 'horizontal_and_vertical';
}
/**
 * Random rotation by up to ``factor`` times 360 degrees.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "RotationOp".
 */
export interface IRotationOp {
  op?: 'rotation';
  factor?: number;
}
/**
 * Random zoom in/out by up to ``factor`` of the image size.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ZoomOp".
 */
export interface IZoomOp {
  op?: 'zoom';
  factor?: number;
}
/**
 * Random shift by up to ``factor`` of the image size.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "TranslationOp".
 */
export interface ITranslationOp {
  op?: 'translation';
  factor?: number;
}
/**
 * Random crop keeping ``fraction`` of each side, resized back to the input size.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "CropOp".
 */
export interface ICropOp {
  op?: 'crop';
  fraction?: number;
}
/**
 * Random contrast change by up to ``factor``.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ContrastOp".
 */
export interface IContrastOp {
  op?: 'contrast';
  factor?: number;
}
/**
 * Random brightness change by up to ``factor`` of the value range.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "BrightnessOp".
 */
export interface IBrightnessOp {
  op?: 'brightness';
  factor?: number;
}
/**
 * Additive Gaussian noise with standard deviation ``stddev`` (images scaled to [0, 1]).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "NoiseOp".
 */
export interface INoiseOp {
  op?: 'noise';
  stddev?: number;
}
/**
 * Shift each clip in time by up to ``max_fraction`` of its length, either way, filling with silence.
 *
 * The shift of TensorFlow's speech-commands training (``time_shift_ms``): the sound moves,
 * the clip keeps its length, samples shifted out are dropped and the gap is silent.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "TimeShiftOp".
 */
export interface ITimeShiftOp {
  op?: 'time_shift';
  max_fraction?: number;
}
/**
 * ``keras.layers.AveragePooling1D``: the mean of each window along a sequence.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "AveragePooling1DLayer".
 */
export interface IAveragePooling1DLayer {
  type: 'AveragePooling1D';
  pool_size?: number;
  /**
   * None: the pool size.
   */
  strides?: number | null;
  padding?: 'valid' | 'same';
}
/**
 * ``keras.layers.AveragePooling2D``: the mean of each window.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "AveragePooling2DLayer".
 */
export interface IAveragePooling2DLayer {
  type: 'AveragePooling2D';
  pool_size?: number | number[];
  /**
   * None: the pool size.
   */
  strides?: (number | number[]) | null;
  padding?: 'valid' | 'same';
}
/**
 * Running metrics after a batch (or a ``steps_per_execution`` group of them).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "BatchEvent".
 */
export interface IBatchEvent {
  /**
   * Unix time in seconds.
   */
  t: number;
  /**
   * Global training step (batches since the run began).
   */
  step?: number | null;
  /**
   * 1-based epoch (status events: epochs completed).
   */
  epoch?: number | null;
  metrics?: {
    [k: string]: number | null;
  };
  type: 'batch';
  /**
   * Steps of the whole run (for progress and ETA).
   */
  total_steps?: number | null;
  /**
   * Epochs of the whole run.
   */
  epochs?: number | null;
}
/**
 * ``keras.layers.BatchNormalization`` over the last axis.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "BatchNormalizationLayer".
 */
export interface IBatchNormalizationLayer {
  type: 'BatchNormalization';
  momentum?: number;
  epsilon?: number;
}
/**
 * ``keras.layers.Bidirectional``: a recurrent layer run forwards and backwards, outputs merged.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "BidirectionalLayer".
 */
export interface IBidirectionalLayer {
  type: 'Bidirectional';
  layer: ISimpleRNNLayer | ILSTMLayer | IGRULayer;
  /**
   * How the two directions combine: concat doubles the width.
   */
  merge_mode?: 'concat' | 'sum' | 'mul' | 'ave';
}
/**
 * ``keras.layers.SimpleRNN`` over (timesteps, features).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "SimpleRNNLayer".
 */
export interface ISimpleRNNLayer {
  type: 'SimpleRNN';
  units: number;
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  /**
   * True: one output per timestep (timesteps, units), for a recurrent layer after it.
   */
  return_sequences?: boolean;
  /**
   * Fraction of the inputs dropped while training.
   */
  dropout?: number;
  /**
   * Fraction of the recurrent state dropped while training.
   */
  recurrent_dropout?: number;
}
/**
 * ``keras.layers.LSTM`` over (timesteps, features).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "LSTMLayer".
 */
export interface ILSTMLayer {
  type: 'LSTM';
  units: number;
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  /**
   * True: one output per timestep (timesteps, units), for a recurrent layer after it.
   */
  return_sequences?: boolean;
  /**
   * Fraction of the inputs dropped while training.
   */
  dropout?: number;
  /**
   * Fraction of the recurrent state dropped while training.
   */
  recurrent_dropout?: number;
}
/**
 * ``keras.layers.GRU`` over (timesteps, features) (Keras 3's ``reset_after=True``).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "GRULayer".
 */
export interface IGRULayer {
  type: 'GRU';
  units: number;
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  /**
   * True: one output per timestep (timesteps, units), for a recurrent layer after it.
   */
  return_sequences?: boolean;
  /**
   * Fraction of the inputs dropped while training.
   */
  dropout?: number;
  /**
   * Fraction of the recurrent state dropped while training.
   */
  recurrent_dropout?: number;
}
/**
 * One of a list of values (numbers, strings, booleans or null).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "CategoricalDimension".
 */
export interface ICategoricalDimension {
  type: 'categorical';
  /**
   * @minItems 1
   * @maxItems 1000
   */
  choices: (boolean | number | string | null)[];
}
/**
 * ``keras.layers.Conv1D``: ``filters`` learned ``kernel_size`` windows along a sequence.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Conv1DLayer".
 */
export interface IConv1DLayer {
  type: 'Conv1D';
  filters: number;
  kernel_size: number;
  strides?: number;
  /**
   * causal: pad on the left only (no look-ahead).
   */
  padding?: 'valid' | 'same' | 'causal';
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  use_bias?: boolean;
}
/**
 * ``keras.layers.Conv2D``: ``filters`` learned ``kernel_size`` windows over an image.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Conv2DLayer".
 */
export interface IConv2DLayer {
  type: 'Conv2D';
  filters: number;
  kernel_size: number | number[];
  strides?: number | number[];
  padding?: 'valid' | 'same';
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  use_bias?: boolean;
}
/**
 * Which data to train on and how to split it.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "DatasetSpec".
 */
export interface IDatasetSpec {
  /**
   * Registry name (digits, shapes, fashion_mnist, mnist, cifar10, fortunes_topics, fortunes_languages, imdb, spoken_digits, speech_commands) or 'folder:<path>'.
   */
  name: string;
  /**
   * Fraction of the training data held out.
   */
  validation_split?: number;
  /**
   * Use at most this many training examples.
   */
  subset?: number | null;
  /**
   * Side length for generated ('shapes') or folder images.
   */
  image_size?: number | null;
  /**
   * Seed for splitting, subsetting and generated data (numpy's range).
   */
  seed?: number;
  /**
   * How many examples to generate, for the generated datasets: 'shapes' (default 3000) and 'spoken_digits' (default 2000).
   */
  count?: number | null;
}
/**
 * ``keras.layers.Dense`` (on the last axis).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "DenseLayer".
 */
export interface IDenseLayer {
  type: 'Dense';
  units: number;
  activation?: 'relu' | 'sigmoid' | 'tanh' | 'softmax' | 'linear' | 'elu' | 'gelu' | 'selu' | 'swish' | 'leaky_relu';
  use_bias?: boolean;
}
/**
 * ``keras.layers.Dropout``: zeroes a fraction ``rate`` of its inputs while training.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "DropoutLayer".
 */
export interface IDropoutLayer {
  type: 'Dropout';
  rate: number;
}
/**
 * ``keras.layers.Embedding``: one learned ``output_dim`` vector per token id.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "EmbeddingLayer".
 */
export interface IEmbeddingLayer {
  type: 'Embedding';
  /**
   * Vocabulary size (largest token id + 1). None: the vocabulary size of the model's TextVectorization preprocessing.
   */
  input_dim?: number | null;
  output_dim: number;
  /**
   * Treat token id 0 as padding that later layers skip.
   */
  mask_zero?: boolean;
}
/**
 * Every metric of a finished epoch, ``val_`` ones included.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "EpochEvent".
 */
export interface IEpochEvent {
  /**
   * Unix time in seconds.
   */
  t: number;
  /**
   * Global training step (batches since the run began).
   */
  step?: number | null;
  /**
   * 1-based epoch (status events: epochs completed).
   */
  epoch?: number | null;
  metrics?: {
    [k: string]: number | null;
  };
  type: 'epoch';
  /**
   * Epochs of the whole run.
   */
  epochs?: number | null;
}
/**
 * Body of every error answer of the API.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Error".
 */
export interface IError {
  /**
   * What is wrong and, where there is one, the fix.
   */
  message: string;
  /**
   * The error's class name, or the HTTP reason phrase.
   */
  reason: string;
}
/**
 * Test-set metrics after training (``test_accuracy``, ``test_loss``).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "EvalEvent".
 */
export interface IEvalEvent {
  /**
   * Unix time in seconds.
   */
  t: number;
  /**
   * Global training step (batches since the run began).
   */
  step?: number | null;
  /**
   * 1-based epoch (status events: epochs completed).
   */
  epoch?: number | null;
  metrics?: {
    [k: string]: number | null;
  };
  type: 'eval';
}
/**
 * The run changed status; ``running`` with ``epoch`` N is a restart point after N epochs.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "StatusEvent".
 */
export interface IStatusEvent {
  /**
   * Unix time in seconds.
   */
  t: number;
  /**
   * Global training step (batches since the run began).
   */
  step?: number | null;
  /**
   * 1-based epoch (status events: epochs completed).
   */
  epoch?: number | null;
  metrics?: {
    [k: string]: number | null;
  };
  type: 'status';
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'pruned';
  /**
   * Epochs of the whole run.
   */
  epochs?: number | null;
  /**
   * Why it failed or was cancelled.
   */
  error?: string | null;
}
/**
 * A line of the run's log.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "LogEvent".
 */
export interface ILogEvent {
  /**
   * Unix time in seconds.
   */
  t: number;
  /**
   * Global training step (batches since the run began).
   */
  step?: number | null;
  /**
   * 1-based epoch (status events: epochs completed).
   */
  epoch?: number | null;
  metrics?: {
    [k: string]: number | null;
  };
  type: 'log';
  message: string;
}
/**
 * ``keras.layers.Flatten``: one feature vector per example.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "FlattenLayer".
 */
export interface IFlattenLayer {
  type: 'Flatten';
}
/**
 * A real number between ``low`` and ``high``: on a log scale, or in steps of ``step``.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "FloatDimension".
 */
export interface IFloatDimension {
  type: 'float';
  low: number;
  high: number;
  /**
   * Sample uniformly in log space (learning rates).
   */
  log?: boolean;
  /**
   * Only low, low + step, ... (needed by grid search).
   */
  step?: number | null;
}
/**
 * ``keras.layers.GlobalAveragePooling1D``: the mean of each feature over the sequence.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "GlobalAveragePooling1DLayer".
 */
export interface IGlobalAveragePooling1DLayer {
  type: 'GlobalAveragePooling1D';
}
/**
 * ``keras.layers.GlobalAveragePooling2D``: the mean of each channel.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "GlobalAveragePooling2DLayer".
 */
export interface IGlobalAveragePooling2DLayer {
  type: 'GlobalAveragePooling2D';
}
/**
 * ``keras.layers.GlobalMaxPooling1D``: the largest value of each feature over the sequence.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "GlobalMaxPooling1DLayer".
 */
export interface IGlobalMaxPooling1DLayer {
  type: 'GlobalMaxPooling1D';
}
/**
 * An integer between ``low`` and ``high`` inclusive, in steps of ``step``.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "IntDimension".
 */
export interface IIntDimension {
  type: 'int';
  low: number;
  high: number;
  step?: number;
  /**
   * Sample uniformly in log space (needs step 1).
   */
  log?: boolean;
}
/**
 * A job as the API returns it (``GET jobs``, ``GET jobs/{job_id}``, stream messages).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Job".
 */
export interface IJob {
  /**
   * Run id: the run directory's name.
   */
  id: string;
  /**
   * As renamed (PATCH), else as trained.
   */
  name?: string | null;
  tags?: string[];
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'pruned';
  /**
   * ISO 8601 time the job was queued.
   */
  created?: string | null;
  started?: string | null;
  finished?: string | null;
  /**
   * Worker process id.
   */
  pid?: number | null;
  /**
   * Index of the (first) GPU the job holds, if any.
   */
  gpu?: number | null;
  /**
   * Every GPU the job holds (several with resources.gpus > 1).
   */
  gpus?: number[];
  /**
   * Cluster node its worker ran on (a Ray node id); None on the server's host.
   */
  node?: string | null;
  exit_code?: number | null;
  error?: string | null;
  /**
   * Epochs completed.
   */
  epoch?: number | null;
  epochs?: number | null;
  dataset?: string | null;
  run_dir: string;
  /**
   * Who trains it: a worker of this server, lepton_lab.train in a kernel, or a script/the CLI writing into the runs directory (cancel asks those to stop).
   */
  origin?: 'server' | 'kernel' | 'script';
  /**
   * A person's note on the run (meta.json).
   */
  note?: string | null;
  /**
   * Hidden from lists unless archived runs are asked for.
   */
  archived?: boolean;
  cancel_requested?: boolean;
  /**
   * Place in the queue (0: next), while queued.
   */
  queue_position?: number | null;
  /**
   * Latest step, epoch, total_steps, metrics.
   */
  progress?: IJobProgress | null;
  /**
   * Only in GET jobs/{job_id}.
   */
  traceback?: string | null;
  /**
   * Only in GET jobs/{job_id}.
   */
  spec?: IJobSpec | null;
}
/**
 * How far a running job has come: a job's ``progress`` and the stream's progress messages.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "JobProgress".
 */
export interface IJobProgress {
  /**
   * Global step of the latest batch.
   */
  step?: number | null;
  /**
   * 1-based epoch in progress.
   */
  epoch?: number | null;
  total_steps?: number | null;
  epochs?: number | null;
  /**
   * Epochs completed.
   */
  epochs_done?: number | null;
  /**
   * Unix time (s) of the latest event.
   */
  t?: number | null;
  /**
   * Metrics of the latest batch.
   */
  metrics?: {
    [k: string]: number | null;
  };
  /**
   * Metrics of the latest epoch (train and `val_`).
   */
  epoch_metrics?: {
    [k: string]: number | null;
  };
  [k: string]: unknown;
}
/**
 * A complete training job.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "JobSpec".
 */
export interface IJobSpec {
  name?: string;
  /**
   * @maxItems 32
   */
  tags?: string[];
  dataset: IDatasetSpec;
  augment?: IAugmentSpec;
  model?: IModelSpec;
  train?: ITrainSpec;
  resources?: IResourcesSpec;
}
/**
 * A network: either a named ``preset`` or an explicit ``layers`` list.
 *
 * The input shape and the output layer (``Dense(num_classes, softmax)``)
 * come from the dataset, so specs stay portable between datasets.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ModelSpec".
 */
export interface IModelSpec {
  /**
   * One of mlp, small_cnn, cnn_bn, text_bilstm, text_cnn, bag_of_words, audio_cnn.
   */
  preset?: string | null;
  layers?: ILayerSpec[] | null;
  /**
   * Text or audio preprocessing inside the model (TextVectorization, MelSpectrogram, STFTSpectrogram), adapted on the training split; None: the preset's default, or none.
   */
  preprocessing?: (ITextVectorizationSpec | IMelSpectrogramSpec | ISTFTSpectrogramSpec) | null;
}
/**
 * ``keras.layers.MaxPooling2D``: the largest value of each window.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "MaxPooling2DLayer".
 */
export interface IMaxPooling2DLayer {
  type: 'MaxPooling2D';
  pool_size?: number | number[];
  /**
   * None: the pool size.
   */
  strides?: (number | number[]) | null;
  padding?: 'valid' | 'same';
}
/**
 * ``keras.layers.Reshape``; one side may be -1 (Keras infers it).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ReshapeLayer".
 */
export interface IReshapeLayer {
  type: 'Reshape';
  /**
   * @minItems 1
   * @maxItems 8
   */
  target_shape: (-1 | number)[];
}
/**
 * ``keras.layers.MaxPooling1D``: the largest value of each window along a sequence.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "MaxPooling1DLayer".
 */
export interface IMaxPooling1DLayer {
  type: 'MaxPooling1D';
  pool_size?: number;
  /**
   * None: the pool size.
   */
  strides?: number | null;
  padding?: 'valid' | 'same';
}
/**
 * ``keras.layers.TextVectorization``: strings to token ids, multi-hot or TF-IDF vectors.
 *
 * The vocabulary (and the IDF weights) are adapted on the training split only and saved inside
 * ``model.keras``. ``int`` yields ``output_sequence_length`` token ids (0 pads, 1 is the
 * out-of-vocabulary token); the other modes yield one ``max_tokens``-wide vector per example.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "TextVectorizationSpec".
 */
export interface ITextVectorizationSpec {
  type?: 'TextVectorization';
  /**
   * Vocabulary size, padding and OOV included.
   */
  max_tokens?: number;
  /**
   * Text normalisation before splitting (None: none).
   */
  standardize?: ('lower_and_strip_punctuation' | 'lower' | 'strip_punctuation') | null;
  /**
   * Tokens are words or characters.
   */
  split?: 'whitespace' | 'character';
  /**
   * Also count n-grams up to this length.
   */
  ngrams?: number | null;
  output_mode?: 'int' | 'multi_hot' | 'count' | 'tf_idf';
  /**
   * Token ids per example in 'int' mode (padded or cut).
   */
  output_sequence_length?: number | null;
}
/**
 * ``keras.layers.MelSpectrogram``: mel-band power per frame, in decibels when ``log``.
 *
 * Output ``(num_mel_bins, frames)``, frames = ``samples // frame_step + 1`` (Keras centres the
 * windows). The sampling rate is the dataset's.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "MelSpectrogramSpec".
 */
export interface IMelSpectrogramSpec {
  /**
   * Samples per analysis window (25 ms at 16 kHz).
   */
  frame_length?: number;
  /**
   * Samples between windows (10 ms at 16 kHz).
   */
  frame_step?: number;
  /**
   * FFT size; None: the next power of two >= frame_length.
   */
  fft_length?: number | null;
  /**
   * Scale to zero mean, unit variance with statistics of the training split.
   */
  normalize?: boolean;
  type?: 'MelSpectrogram';
  num_mel_bins?: number;
  min_freq?: number;
  /**
   * None: half the sampling rate.
   */
  max_freq?: number | null;
  /**
   * Power in decibels (power_to_db), clipped to 80 dB below the peak.
   */
  log?: boolean;
}
/**
 * ``keras.layers.STFTSpectrogram``: linear-frequency magnitudes per frame.
 *
 * Output ``(frames, fft_length // 2 + 1)``, frames = ``(samples - frame_length) // frame_step + 1``.
 * ``mode="log"`` is the log magnitude.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "STFTSpectrogramSpec".
 */
export interface ISTFTSpectrogramSpec {
  /**
   * Samples per analysis window (25 ms at 16 kHz).
   */
  frame_length?: number;
  /**
   * Samples between windows (10 ms at 16 kHz).
   */
  frame_step?: number;
  /**
   * FFT size; None: the next power of two >= frame_length.
   */
  fft_length?: number | null;
  /**
   * Scale to zero mean, unit variance with statistics of the training split.
   */
  normalize?: boolean;
  type?: 'STFTSpectrogram';
  mode?: 'log' | 'magnitude' | 'psd';
}
/**
 * How to fit the model.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "TrainSpec".
 */
export interface ITrainSpec {
  epochs?: number;
  batch_size?: number;
  learning_rate?: number;
  optimizer?: 'adam' | 'sgd' | 'rmsprop' | 'adamw';
  /**
   * SGD momentum.
   */
  momentum?: number;
  weight_decay?: number;
  /**
   * If set, overrides the rate of every Dropout layer.
   */
  dropout?: number | null;
  lr_schedule?: 'constant' | 'cosine';
  early_stopping_patience?: number | null;
  /**
   * Seeds Python, numpy and TensorFlow (numpy's range).
   */
  seed?: number;
  /**
   * Lower-precision compute with float32 weights. None: the runner chooses (bfloat16 on CPUs with native bfloat16 instructions, float32 elsewhere); True: float16 on a GPU, bfloat16 on such a CPU; False: float32 everywhere.
   */
  mixed_precision?: boolean | null;
  /**
   * None lets the runner choose.
   */
  steps_per_execution?: number | null;
  /**
   * Runtime settings pinned by hand; the runner measures and chooses the others.
   */
  runtime?: IRuntimeSpec | null;
  /**
   * 'none': one device. 'mirrored': one replica per GPU the job holds (tf.distribute.MirroredStrategy); batch_size is then per replica and a step takes batch_size x replicas examples.
   */
  distribute?: 'none' | 'mirrored';
}
/**
 * Runtime settings pinned by hand (``train.runtime``); the runner measures the rest.
 *
 * Every field left out (None) is chosen by :mod:`lepton_lab.core.runtime_policy`, which times
 * candidate settings on this machine; a field given here is used as it is, never overridden.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "RuntimeSpec".
 */
export interface IRuntimeSpec {
  /**
   * Steps per tf.function call.
   */
  steps_per_execution?: number | null;
  /**
   * Compile the train step with XLA.
   */
  jit_compile?: boolean | null;
  /**
   * Keras dtype policy (mixed: lower-precision compute, float32 weights).
   */
  precision?: ('float32' | 'mixed_bfloat16' | 'mixed_float16') | null;
  /**
   * Convert and decode batches in parallel (AUTOTUNE).
   */
  parallel_map?: boolean | null;
  /**
   * Batches prepared ahead: a count (0: none) or 'auto' (tf.data AUTOTUNE).
   */
  prefetch?: number | 'auto' | null;
  /**
   * Keep decoded folder images after the first epoch: in memory or on disk.
   */
  cache?: ('none' | 'memory' | 'disk') | null;
  /**
   * Time candidate settings: 'auto' when the run is long enough to repay it, 'always', or 'never' (cached or default settings).
   */
  probe?: 'auto' | 'always' | 'never';
  /**
   * TensorFlow threads per op; applied only before TensorFlow starts.
   */
  intra_op_threads?: number | null;
  /**
   * TensorFlow ops run at once; applied only before TensorFlow starts.
   */
  inter_op_threads?: number | null;
}
/**
 * What a job asks of the host it runs on (the server's allocator, or a Ray cluster).
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "ResourcesSpec".
 */
export interface IResourcesSpec {
  /**
   * GPUs the job holds while it runs, all at once (it waits until that many are free). None: one GPU when the host has one under the server's GPU policy, else the CPU; 0: the CPU only.
   */
  gpus?: number | null;
}
/**
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "JobPatch".
 */
export interface IJobPatch {
  /**
   * Display name; null or '' shows the trained name again.
   */
  name?: string | null;
  /**
   * null or '' removes it.
   */
  note?: string | null;
  archived?: boolean;
}
/**
 * The metric a sweep optimises, read from each trial's epoch events.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Objective".
 */
export interface IObjective {
  /**
   * An epoch metric: val_accuracy, val_loss, accuracy, loss, ...
   */
  metric?: string;
  /**
   * None: 'minimize' for a metric ending in 'loss', else 'maximize'.
   */
  direction?: ('maximize' | 'minimize') | null;
}
/**
 * A sweep as the API shows it: its spec, state, trial counts, best trial and parameter importance.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Sweep".
 */
export interface ISweep {
  /**
   * sw- and the time-sortable form job ids have.
   */
  id: string;
  name: string;
  state: 'running' | 'completed' | 'cancelled' | 'failed';
  /**
   * Unix time the sweep was created.
   */
  created: number;
  /**
   * Unix time it ended (None while running).
   */
  finished: number | null;
  strategy: 'grid' | 'random' | 'tpe';
  pruner: 'none' | 'median' | 'hyperband';
  /**
   * Trials the sweep runs (for a grid: at most its size).
   */
  max_trials: number;
  /**
   * Trials in flight at once.
   */
  parallel: number;
  objective: ISweepObjective;
  space: {
    [k: string]: IFloatDimension | IIntDimension | ICategoricalDimension;
  };
  counts: ISweepCounts;
  /**
   * None until a trial completes with a value.
   */
  best: ISweepBest | null;
  /**
   * fANOVA importance of each parameter (sums to 1); None until 3 trials completed.
   */
  importance: {
    [k: string]: number;
  } | null;
  spec: ISweepSpec;
}
/**
 * The metric a sweep optimises and in which direction.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "SweepObjective".
 */
export interface ISweepObjective {
  metric: string;
  direction: 'maximize' | 'minimize';
}
/**
 * How many of a sweep's trials have each status.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "SweepCounts".
 */
export interface ISweepCounts {
  queued: number;
  running: number;
  completed: number;
  pruned: number;
  failed: number;
  cancelled: number;
}
/**
 * The completed trial with the best objective value.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "SweepBest".
 */
export interface ISweepBest {
  number: number;
  job_id: string | null;
  value: number;
  params: {
    [k: string]: boolean | number | string | null;
  };
}
/**
 * A hyperparameter sweep: trials of ``base`` with the values ``space`` names.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "SweepSpec".
 */
export interface ISweepSpec {
  name?: string;
  base: IJobSpec;
  space: {
    [k: string]: IFloatDimension | IIntDimension | ICategoricalDimension;
  };
  objective?: IObjective;
  /**
   * grid: every combination once; random; tpe: Optuna's TPE sampler.
   */
  strategy?: 'grid' | 'random' | 'tpe';
  /**
   * Trials to run (default 20; grid: the grid's size, and at most that).
   */
  max_trials?: number | null;
  /**
   * Trials in flight at once; None: the server's job slots.
   */
  parallel?: number | null;
  /**
   * Stop clearly losing trials early: Optuna's median or Hyperband pruner.
   */
  pruner?: 'none' | 'median' | 'hyperband';
  /**
   * Seeds the sampler (same seed, same trials).
   */
  seed?: number;
}
/**
 * One trial of a sweep: its job, parameters and objective values per epoch.
 *
 * This interface was referenced by `IApiSchemas`'s JSON-Schema
 * via the `definition` "Trial".
 */
export interface ITrial {
  /**
   * Optuna's trial number, unique within the sweep.
   */
  number: number;
  /**
   * The trial's job (None if it could not be submitted).
   */
  job_id: string | null;
  /**
   * The job's status.
   */
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'pruned';
  params: {
    [k: string]: boolean | number | string | null;
  };
  /**
   * Best epoch value of the objective so far (None before one).
   */
  value: number | null;
  epochs_run: number;
  /**
   * [epoch, objective value] per epoch reported.
   */
  intermediate: number[][];
}

// Constants derived from the same models.
export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted', 'pruned'] as const;
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running'];
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'interrupted', 'pruned'];
export const RESUMABLE_STATUSES: readonly JobStatus[] = ['interrupted', 'failed', 'cancelled', 'pruned'];
export const ORIGINS = ['server', 'kernel', 'script'] as const;
export const EVENT_TYPES = ['batch', 'epoch', 'status', 'log', 'eval'] as const;
export const PRESET_NAMES = ['mlp', 'small_cnn', 'cnn_bn', 'text_bilstm', 'text_cnn', 'bag_of_words', 'audio_cnn'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adamw'] as const;
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
export const NAME_MAX = 200;
export const NOTE_MAX = 10000;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobOrigin = (typeof ORIGINS)[number];
export type EventType = (typeof EVENT_TYPES)[number];
export type PresetName = (typeof PRESET_NAMES)[number];
export type Optimizer = (typeof OPTIMIZERS)[number];
export type LrSchedule = (typeof LR_SCHEDULES)[number];
